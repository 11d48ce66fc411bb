"""A keyframe-aligned MPEG-TS segment cutter (sans-I/O), shared by the DVR and live HLS.

:meth:`Segmenter.feed` takes the frames of one publication in order and returns a
:class:`Step`: the TS bytes of that frame (from
:class:`~headwater.media.mpegts.TSWriter`), and whether the frame closed a segment and
opened a new one. The rules, as RFC 8216 4.3.3.1/6.2.1 and every recorder need them:

- a segment of a stream with video starts with PAT, PMT and a video keyframe, so each
  one decodes on its own; frames before the first keyframe cannot be decoded and are
  dropped (counted in ``skipped``);
- a segment is closed at the first video keyframe at or past ``target`` ticks (90 kHz)
  from its start: a group of pictures is never split, so a long GOP makes a long segment;
- an audio-only stream is cut at the first frame past ``target``; a stream whose first
  frames are audio waits ``video_wait`` ticks for a video track before deciding it has none;
- a timestamp jump (backwards, or forwards by more than ``max_gap``) closes the segment at
  the next keyframe and marks the next one ``discontinuity`` (the publisher's clock reset).

:meth:`Segmenter.feed_many` takes a batch of frames (what a consumer gathered since it last
woke up) and returns one :class:`Step` per run of frames between segment boundaries, with
the same bytes and segments as feeding them one by one: the cutting decisions are made
frame by frame (a handful of comparisons), then the whole batch is muxed in one
:meth:`~headwater.media.mpegts.TSWriter.write_batch` call and cut at the boundaries
(``tests/media/test_segmenter_equal.py`` proves it in hypothesis-drawn batches).

Nothing here reads a clock or touches a file: callers map segments to wall-clock time and
storage themselves (the DVR writes bytes as they come; live HLS keeps them in memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

from headwater.media.frames import CLOCK_RATE, Frame, MediaKind, Track
from headwater.media.mpegts.packet_block import PacketArena
from headwater.media.mpegts.writer import TSWriter

DEFAULT_TARGET = 4 * CLOCK_RATE
"""Default target segment duration: 4 s in 90 kHz ticks."""


@dataclass(slots=True)
class SegmentInfo:
    """What is known of one segment: where it starts, how long it is, what it holds.

    ``start`` is the DTS of its first frame (90 kHz ticks on the publication's time line);
    ``duration`` is filled in when the segment closes (the next segment's start minus this
    start, or the last frame's end when the stream stops or jumps).
    """

    sequence: int
    start: int
    duration: int = 0
    size: int = 0
    frames: int = 0
    keyframes: int = 0
    discontinuity: bool = False
    """The publisher's timestamps jumped between the previous segment and this one."""
    keyframe_offsets: list[int] = field(default_factory=list)
    """Byte offsets (within the segment) of the TS packets starting each video keyframe."""


class Step(NamedTuple):
    """The result of feeding one frame.

    ``closed`` is the segment this frame ended (complete, with its duration), ``opened``
    the segment it began; ``data`` is the frame's TS bytes, which belong to the segment
    open *after* the step (``opened`` when one was opened). A dropped frame gives empty
    ``data`` and no segment change. (A named tuple: one is made per frame.)
    """

    data: bytes | memoryview
    closed: SegmentInfo | None = None
    opened: SegmentInfo | None = None
    last_dts: int | None = None
    """The DTS of the last frame whose bytes are in ``data`` (:meth:`Segmenter.feed_many`)."""


_NOTHING = Step(b"")
_PAT_START = b"\x40\x00"
"""Bytes 1-2 of a TS packet starting a section on PID 0 (the PAT)."""


class Segmenter:
    """Cuts one publication's frames into keyframe-aligned TS segments.

    :param tracks: tracks known at the start (more may appear in frames).
    :param target: target segment duration in 90 kHz ticks (``segment_duration``).
    :param max_gap: a timestamp step larger than this (or any step backwards) is a
        discontinuity.
    :param video_wait: how long (ticks) a stream that starts with audio is held for a
        video keyframe before it is treated as audio-only.
    :param audio_pes_bytes: lets :meth:`feed_many` carry AAC frames that follow each other
        in one PES of up to that many bytes (0, the default: a PES per frame; see
        :class:`~headwater.media.mpegts.TSWriter`). A PES never reaches across a cut.
    """

    def __init__(
        self,
        tracks: tuple[Track, ...] | list[Track] = (),
        *,
        target: int = DEFAULT_TARGET,
        max_gap: int = 10 * CLOCK_RATE,
        video_wait: int = CLOCK_RATE,
        audio_pes_bytes: int = 0,
    ) -> None:
        if target <= 0:
            raise ValueError("the target segment duration must be positive")
        self.target = target
        self.max_gap = max_gap
        self.video_wait = video_wait
        self.writer = TSWriter(tracks, audio_pes_bytes=audio_pes_bytes)
        self.has_video = any(t.kind is MediaKind.VIDEO for t in tracks)
        self.current: SegmentInfo | None = None
        """The open segment (None before the first one opens and after :meth:`close`)."""
        self.skipped = 0
        """Frames dropped because no segment could start with them (before a keyframe)."""
        self._sequence = 0
        self._held: list[Frame] = []
        self._last_dts: dict[int, int] = {}
        self._last_step: dict[int, int] = {}
        self._jumped_end: int | None = None
        """Where the open segment ended when the timestamps jumped (until the next cut)."""

    # -- feeding -------------------------------------------------------------------------

    def feed(self, frame: Frame) -> Step:
        """Take the next frame; return its TS bytes and any segment boundary it makes."""
        track = frame.track
        video = track.kind is MediaKind.VIDEO
        if video and not self.has_video:
            self.has_video = True
            self.skipped += len(self._held)
            self._held.clear()  # audio held while waiting: a video segment starts at a key
        current = self.current
        if current is None:
            return self._first(frame, video)
        dts = frame.dts
        tid = track.id
        last = self._last_dts.get(tid)
        if last is not None:
            step = dts - last
            if step < 0 or step > self.max_gap:
                if self._jumped_end is None:
                    self._jumped_end = self._end()
            elif step:
                self._last_step[tid] = step
        if (frame.keyframe and video if self.has_video else True) and (
            self._jumped_end is not None or dts - current.start >= self.target
        ):
            return self._cut(frame)
        # the steady state: _write without its bookkeeping of the time line (done above)
        self._last_dts[tid] = dts
        data = self.writer.write(frame)
        if video and frame.keyframe:
            current.keyframes += 1
            current.keyframe_offsets.append(current.size)
        current.size += len(data)
        current.frames += 1
        return Step(data)

    def feed_many(self, frames: Sequence[Frame], arena: PacketArena | None = None) -> list[Step]:
        """Take many frames at once: the bytes and segments of :meth:`feed` one by one.

        The frames' TS bytes are laid out in one go (:meth:`TSWriter.write_batch`), so a
        frame costs only its share of the cutting decisions and its headers. Returns one
        :class:`Step` per run of frames between segment boundaries, in order: the first
        (``closed`` and ``opened`` None) continues the segment open before the call, each
        next one begins at a frame that opened a segment (``opened``, and ``closed`` when
        that frame also ended one). Joined, their ``data`` is what :meth:`feed` would have
        returned frame by frame; ``last_dts`` is the DTS of the last frame in each. Frames
        that :meth:`feed` would drop (before the first keyframe) are dropped here too.
        With ``arena`` the bytes are laid out in its memory (the caller resets it only
        once it no longer reads them).
        """
        plan: list[Frame] = []
        """The frames to write, in order."""
        marks: list[tuple[int, SegmentInfo | None, SegmentInfo]] = []
        """(index in ``plan``, closed, opened) of each frame that begins a segment."""
        keys: list[int] = []
        """Indexes in ``plan`` of video keyframes (their offsets are kept per segment)."""
        continued = self.current
        max_gap = self.max_gap
        target = self.target
        last_dts = self._last_dts
        last_step = self._last_step
        add_key, add = keys.append, plan.append
        video_kind = MediaKind.VIDEO
        current = self.current
        start = current.start if current is not None else 0
        has_video = self.has_video
        for frame in frames:
            track = frame.track
            video = track.kind is video_kind
            if video and not has_video:
                has_video = self.has_video = True
                self.skipped += len(self._held)
                self._held.clear()
            dts = frame.dts
            if current is None:  # before the first segment: as _first
                if has_video:
                    if not (video and frame.keyframe):
                        self.skipped += 1
                        continue
                    firsts = [frame]
                else:
                    held = self._held
                    held.append(frame)
                    if dts - held[0].dts < self.video_wait:
                        continue
                    firsts = held
                    self._held = []
                current = self._open(firsts[0].dts)
                start = current.start
                marks.append((len(plan), None, current))
                for f in firsts:
                    if self._account(f):
                        add_key(len(plan))
                    add(f)
                continue
            tid = track.id
            last = last_dts.get(tid)
            if last is not None:
                step = dts - last
                if step < 0 or step > max_gap:
                    if self._jumped_end is None:
                        self._jumped_end = self._end()
                elif step:
                    last_step[tid] = step
            last_dts[tid] = dts
            if frame.keyframe and video:
                add_key(len(plan))
                cuts = True
            else:
                cuts = not has_video  # an audio-only stream is cut at any frame
            if cuts and (dts - start >= target or self._jumped_end is not None):  # as _cut
                jumped_end = self._jumped_end
                current.duration = max((dts if jumped_end is None else jumped_end) - start, 0)
                opened = self._open(dts)
                opened.discontinuity = jumped_end is not None
                self._jumped_end = None
                marks.append((len(plan), current, opened))
                current = opened
                start = dts
            add(frame)
        if not plan:
            return []
        data, begins, starts = self.writer.write_batch(plan, {m[0] for m in marks}, arena)
        view = memoryview(data)
        steps: list[Step] = []
        k = 0
        edges = [(0, None, continued, False)]
        edges += [(at, closed, opened, True) for at, closed, opened in marks]
        edges.append((len(plan), None, None, False))
        for (first, closed, segment, opens), (end, *_) in pairwise(edges):
            if first == end:
                continue  # nothing before the first boundary
            assert segment is not None
            begin = begins[first]
            stop = begins[end] if end < len(plan) else len(view)
            base = segment.size - begin
            offsets = segment.keyframe_offsets
            while k < len(keys) and keys[k] < end:
                offsets.append(base + starts[keys[k]])
                segment.keyframes += 1
                k += 1
            segment.frames += end - first
            segment.size += stop - begin
            opened = segment if opens else None
            steps.append(Step(view[begin:stop], closed, opened, plan[end - 1].dts))
        return steps

    def _account(self, frame: Frame) -> bool:
        """The time-line bookkeeping of :meth:`_write` (a batch writes the bytes and counts
        the frames later); True for a video keyframe."""
        tid = frame.track.id
        last = self._last_dts.get(tid)
        if last is not None and 0 < frame.dts - last <= self.max_gap:
            self._last_step[tid] = frame.dts - last
        self._last_dts[tid] = frame.dts
        return frame.keyframe and frame.track.kind is MediaKind.VIDEO

    def close(self) -> SegmentInfo | None:
        """End the open segment (the publication stopped); return it with its duration."""
        segment = self.current
        self.current = None
        self._held.clear()
        if segment is None:
            return None
        end = self._end() if self._jumped_end is None else self._jumped_end
        segment.duration = max(end - segment.start, 0)
        self._jumped_end = None
        return segment

    # -- internals -----------------------------------------------------------------------

    def _first(self, frame: Frame, video: bool) -> Step:
        """Before the first segment: wait for a keyframe (video) or decide on audio-only."""
        if self.has_video:
            if not (video and frame.keyframe):
                self.skipped += 1
                return _NOTHING
            return self._open_with(frame, [])
        held = self._held
        held.append(frame)
        if frame.dts - held[0].dts < self.video_wait:
            return _NOTHING
        first, rest = held[0], held[1:]
        self._held = []
        return self._open_with(first, rest)

    def _open_with(self, frame: Frame, more: list[Frame]) -> Step:
        opened = self._open(frame.dts)
        data = self._write_first(frame)
        if more:
            data = b"".join([data, *(self._write(f) for f in more)])
        return Step(data, None, opened)

    def _cut(self, frame: Frame) -> Step:
        closed = self.current
        assert closed is not None
        jumped_end = self._jumped_end
        end = frame.dts if jumped_end is None else jumped_end
        closed.duration = max(end - closed.start, 0)
        opened = self._open(frame.dts)
        opened.discontinuity = jumped_end is not None
        self._jumped_end = None
        return Step(self._write_first(frame), closed, opened)

    def _open(self, dts: int) -> SegmentInfo:
        segment = SegmentInfo(self._sequence, dts)
        self._sequence += 1
        self.current = segment
        return segment

    def _write_first(self, frame: Frame) -> bytes:
        """The first frame of a segment, with PAT and PMT before it."""
        data = self._write(frame)
        segment = self.current
        if data[1:3] != _PAT_START and segment is not None:
            psi = self.writer.psi()  # the writer adds PSI itself at video keyframes only
            data = psi + data
            segment.size += len(psi)
            segment.keyframe_offsets = [o + len(psi) for o in segment.keyframe_offsets]
        return data

    def _write(self, frame: Frame) -> bytes:
        segment = self.current
        assert segment is not None
        tid = frame.track.id
        last = self._last_dts.get(tid)
        if last is not None and 0 < frame.dts - last <= self.max_gap:
            self._last_step[tid] = frame.dts - last
        self._last_dts[tid] = frame.dts
        data = self.writer.write(frame)
        if frame.keyframe and frame.track.kind is MediaKind.VIDEO:
            segment.keyframes += 1
            segment.keyframe_offsets.append(segment.size)
        segment.size += len(data)
        segment.frames += 1
        return data

    def _jump(self, frame: Frame) -> bool:
        last = self._last_dts.get(frame.track.id)
        if last is None:
            return False
        step = frame.dts - last
        return step < 0 or step > self.max_gap

    def _end(self) -> int:
        """The end of the last frame written: its DTS plus its track's last frame step."""
        ends = [dts + self._last_step.get(tid, 0) for tid, dts in self._last_dts.items()]
        return max(ends, default=self.current.start if self.current else 0)
