"""The sans-I/O core of live HLS: frames in, a sliding window of TS segments and playlists out.

:class:`SegmentWindow` feeds a publication's frames through the shared keyframe-aligned
cutter (:class:`headwater.media.segmenter.Segmenter`), keeps the last ``count + 1`` closed
segments in memory and renders the RFC 8216 playlists for them (``headwater.media.hls``).
It reads no clock and touches no socket: the caller passes wall-clock times in.

Numbering never goes backwards, so players never stall on a reset (RFC 8216 6.2.1, 6.2.2):

- a window starts its ``EXT-X-MEDIA-SEQUENCE`` at :func:`clock_sequence` of the wall clock
  (tenths of a second since the epoch), which is past any number an earlier window or an
  earlier run of the server could have reached, since segments last at least 0.5 s;
- a republication inside one window continues the numbers and marks its first segment
  ``EXT-X-DISCONTINUITY``;
- ``EXT-X-DISCONTINUITY-SEQUENCE`` starts at the wall-clock minute counted from 2026-01-01
  (:func:`clock_discontinuity`) and grows by one for each discontinuity that leaves the
  playlist. Minutes, not seconds: hls.js does work in proportion to the number (a value in
  the billions freezes the page for seconds; millions play normally).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from headwater.media.frames import CLOCK_RATE, Frame, Track
from headwater.media.hls import (
    MediaPlaylist,
    Segment,
    Variant,
    codecs_attribute,
    render_master_playlist,
    render_media_playlist,
    resolution_of,
)
from headwater.media.mpegts.audio_groups import AUDIO_PES_BYTES
from headwater.media.segmenter import Segmenter, SegmentInfo, Step
from headwater_hls.render_cache import RenderCache
from headwater_hls.segment_block import BlockPool, SegmentBlock, block_rows

SEQUENCE_RATE = 10
"""Media sequence numbers a window's start advances per second of wall clock."""


def clock_sequence(now: float) -> int:
    """The first media sequence number of a window opened at POSIX time ``now``."""
    return int(now * SEQUENCE_RATE)


DISCONTINUITY_EPOCH = 1_767_225_600
"""2026-01-01T00:00:00Z, the zero of :func:`clock_discontinuity`."""


def clock_discontinuity(now: float) -> int:
    """The first discontinuity sequence number of a window opened at POSIX time ``now``:
    whole minutes since 2026-01-01 (a republish a minute on average never outruns it)."""
    return max(0, int(now - DISCONTINUITY_EPOCH) // 60)


def segment_uri(sequence: int) -> str:
    """The URI of a segment, relative to the media playlist."""
    return f"mono-{sequence}.ts"


MAX_CHUNKS = 16
"""A closed segment made of more pieces than this is joined into one (see
:class:`LiveSegment`): one fed frame by frame (:meth:`SegmentWindow.feed`) or in many
small batches."""


@dataclass(frozen=True, slots=True)
class LiveSegment:
    """A closed segment held in memory.

    Its bytes are one view of the block the muxer laid all its batches out in (see
    :mod:`headwater_hls.segment_block`), or, where they could not all go there (a
    publication's first segment, a batch that outgrew the block, a cut the window did not
    foresee), the pieces the cutter made (one per batch of frames, a few per segment;
    views of the muxer's output), sent as they are, one write each: joining them copied
    every byte of every segment once more, which cost more than the writes.

    :param chunks: the segment's bytes, in order.
    :param size: their total length.
    :param discontinuity_number: discontinuities up to and including this segment, counted
        from the window's ``EXT-X-DISCONTINUITY-SEQUENCE`` base.
    """

    sequence: int
    chunks: tuple[bytes | memoryview, ...]
    size: int
    duration: float
    date_time: float
    discontinuity: bool
    discontinuity_number: int

    @property
    def data(self) -> bytes:
        """The segment's bytes in one piece (a copy: made on each call)."""
        return b"".join(self.chunks)


class SegmentWindow:
    """One stream's live HLS: the segment being cut and the last closed ones.

    :param target: ``segment_duration`` in seconds.
    :param count: ``segment_count``, segments listed in the media playlist.
    :param sequence: number of the first segment this window will close.
    :param discontinuity: the ``EXT-X-DISCONTINUITY-SEQUENCE`` of the first playlist.
    :param max_segment_bytes: an open segment past this size is thrown away (no keyframe
        came to close it) and cutting restarts at the next keyframe.
    """

    def __init__(
        self,
        *,
        target: float,
        count: int,
        sequence: int,
        discontinuity: int,
        max_segment_bytes: int = 64 << 20,
        audio_pes_bytes: int = AUDIO_PES_BYTES,
    ) -> None:
        self.target = target
        self.audio_pes_bytes = audio_pes_bytes
        """AAC frames muxed in one batch share a PES up to this many bytes, as ffmpeg's
        HLS muxer writes them (fewer packets, less muxing); 0: one PES per frame."""
        self.count = count
        self.max_segment_bytes = max_segment_bytes
        self.segments: deque[LiveSegment] = deque()
        self.next_sequence = sequence
        self.discontinuity_base = discontinuity
        self.discontinuities = 0
        """Discontinuity tags this window has written (its segments' running count)."""
        self.oversized = 0
        """Open segments thrown away for growing past ``max_segment_bytes``."""
        self._segmenter: Segmenter | None = None
        self._parts: list[bytes] = []
        self._open_bytes = 0
        self._open: SegmentInfo | None = None
        self._anchor: tuple[float, int] = (0.0, 0)
        self._tracks: dict[int, Track] = {}
        self._new_publication = False
        self._rendered = RenderCache()
        self._latest_dts: int | None = None
        """The newest DTS fed since the last timestamp jump (None before the first frame
        of a publication)."""
        self._track_dts: dict[int, int] = {}
        """DTS of the last frame fed of each track (to see timestamp jumps)."""
        self._jumped_in: SegmentInfo | None = None
        """The open segment when a track's timestamps last jumped: the cutter closes it at
        the next keyframe, whatever its target (see :meth:`seconds_to_cut`)."""
        self._open_block: SegmentBlock | None = None
        """Where the open segment's batches are laid out (None: a fresh array each)."""
        self._blocks = BlockPool()

    # -- publications ------------------------------------------------------------------

    def start_publication(self, tracks: Sequence[Track], now: float, latest_dts: int) -> None:
        """A publication begins (or the window first subscribes to a live one).

        ``latest_dts`` is the DTS of the newest frame received (from the stream's GOP cache,
        or the first live frame) at wall-clock time ``now``: it anchors every segment's
        ``EXT-X-PROGRAM-DATE-TIME`` for the whole publication.
        """
        self.end_publication()
        # The first segment closes at the next keyframe (target of one tick) so that the
        # cached group of pictures is playable at once; later segments use the real target.
        self._tracks = {t.id: t for t in tracks}
        first_target = 1 if any(t.is_video for t in tracks) else self._target_ticks
        self._segmenter = Segmenter(
            list(tracks), target=first_target, audio_pes_bytes=self.audio_pes_bytes
        )
        self._anchor = (now, latest_dts)
        self._new_publication = True
        self._latest_dts = None
        self._track_dts = {}
        self._jumped_in = None

    def end_publication(self) -> LiveSegment | None:
        """The publication ended: close the open segment (complete to its last frame)."""
        segmenter = self._segmenter
        if segmenter is None:
            return None
        self._segmenter = None
        closed = segmenter.close()
        if closed is None or self._open is None:
            return None
        return self._finish(closed)

    @property
    def _target_ticks(self) -> int:
        return max(1, round(self.target * CLOCK_RATE))

    @property
    def publishing(self) -> bool:
        """True between :meth:`start_publication` and :meth:`end_publication`."""
        return self._segmenter is not None

    # -- frames ----------------------------------------------------------------------------

    def feed(self, frame: Frame) -> LiveSegment | None:
        """Take one frame; return the segment it closed, if any."""
        segmenter = self._segmenter
        if segmenter is None:
            raise RuntimeError("feed() outside a publication")
        self._tracks[frame.track.id] = frame.track
        jumped = self._note_dts(frame)
        step: Step = segmenter.feed(frame)
        done = None
        if step.closed is not None and self._open is not None:
            done = self._finish(step.closed)
            segmenter.target = self._target_ticks
        if step.opened is not None:
            self._begin(step.opened)
        if step.data:
            self._parts.append(step.data)
            self._open_bytes += len(step.data)
            if self._open_bytes > self.max_segment_bytes:
                self._drop_oversized()
        if jumped:
            self._jumped_in = self._open
        return done

    def feed_many(self, frames: Sequence[Frame]) -> bool:
        """Take many frames at once (:meth:`Segmenter.feed_many`); True when one or more
        segments closed. The same segments as :meth:`feed` frame by frame, but that an
        oversized segment is noticed at the end of a run of frames rather than a frame.

        The first segment of a publication is cut at its first keyframe after the cached
        group of pictures, and the cutter's target changes when it closes: until then the
        frames go in runs that end at each video keyframe (only one can close it), so the
        target changes right after the frame that closed it, as frame by frame, and the
        start is muxed in batches too (it was muxed frame by frame, then joined)."""
        segmenter = self._segmenter
        if segmenter is None:
            raise RuntimeError("feed_many() outside a publication")
        target = self._target_ticks
        if segmenter.target == target:
            return self._feed_run(segmenter, frames)
        done = False
        pos, count = 0, len(frames)
        while pos < count:
            end = pos
            while end < count:
                frame = frames[end]
                end += 1
                if frame.keyframe and frame.track.is_video:
                    break
            closed = self._feed_run(segmenter, frames[pos:end])
            done = closed or done
            pos = end
            segmenter = self._segmenter
            if segmenter is None:  # pragma: no cover - a run never ends the publication
                break
            if closed and segmenter.target != target:
                segmenter.target = target  # the first segment closed: the real target
            if segmenter.target == target:
                if pos < count:
                    done = self._feed_run(segmenter, frames[pos:]) or done
                break
        return done

    def _feed_run(self, segmenter: Segmenter, frames: Sequence[Frame]) -> bool:
        """:meth:`feed_many` of frames that may close a segment anywhere with the
        cutter's target as it is; True when one or more segments closed.

        The batch is laid out in the open segment's block (see
        :mod:`headwater_hls.segment_block`); a segment that opens in it gets a block of its
        own, sized from the one that closed, and its first bytes are copied there (the
        frames from its keyframe to the batch's end), so its later batches follow them and
        the whole segment is one piece of memory. The batches, and so the bytes, are
        those the muxer would make without blocks."""
        if not frames:
            return False
        done = False
        tracks, track_dts, max_gap = self._tracks, self._track_dts, segmenter.max_gap
        latest = self._latest_dts
        jumped = False
        for frame in frames:  # as _note_dts, inline
            track = frame.track
            tid, dts = track.id, frame.dts
            tracks[tid] = track
            last = track_dts.get(tid)
            if last is not None and (dts < last or dts - last > max_gap):
                jumped = True
                latest = dts
            elif latest is None or dts > latest:
                latest = dts
            track_dts[tid] = dts
        self._latest_dts = latest
        block = self._open_block
        used = block.used if block is not None else 0
        for step in segmenter.feed_many(frames, block):
            if step.closed is not None and self._open is not None:
                self._finish(step.closed)
                done = True
            if step.opened is not None:
                self._begin(step.opened)
                block = self._open_block = self._new_block()
                if block is not None:  # its first bytes, from the last block or elsewhere
                    step = block.adopt(step)
            elif block is not None and block.used == used:
                # a batch of a few frames, written packet by packet (not in the block)
                step = block.adopt(step)
            self._parts.append(step.data)
            self._open_bytes += len(step.data)
            if self._open_bytes > self.max_segment_bytes:
                self._drop_oversized()  # the rest of this batch goes with it
                break
        if jumped:  # somewhere in the batch: the segment open now may close early
            self._jumped_in = self._open
        return done

    def _note_dts(self, frame: Frame) -> bool:
        """Remember ``frame``'s DTS (and the newest of all tracks: audio may trail the
        video); True if its track's timestamps jumped (backwards, or forwards by more than
        the cutter's ``max_gap``), as the cutter judges it."""
        dts = frame.dts
        tid = frame.track.id
        last = self._track_dts.get(tid)
        self._track_dts[tid] = dts
        segmenter = self._segmenter
        jumped = last is not None and (
            dts < last or (segmenter is not None and dts - last > segmenter.max_gap)
        )
        latest = self._latest_dts
        if jumped or latest is None or dts > latest:
            self._latest_dts = dts
        return jumped

    def seconds_to_cut(self) -> float:
        """Seconds of media from the newest frame fed until the open segment may close.

        A segment closes at the first keyframe at least ``target`` after its start (see
        :class:`~headwater.media.segmenter.Segmenter`), so before that point no frame can
        complete one and the live HLS may gather frames for longer (bigger batches, fewer
        wake-ups) without listing any segment later. 0 when the next frame may close it:
        no segment open yet, the first segment (cut at its first keyframe), the target
        reached, or timestamps that went backwards or jumped while it was open (a cut at
        the next keyframe).
        """
        segmenter, info, latest = self._segmenter, self._open, self._latest_dts
        if segmenter is None or info is None or latest is None or info is self._jumped_in:
            return 0.0
        target = segmenter.target
        left = info.start + target - latest
        if left <= 0 or left > target or target != self._target_ticks:
            return 0.0
        return left / CLOCK_RATE

    def _begin(self, info: SegmentInfo) -> None:
        self._open = info
        self._parts = []
        self._open_bytes = 0
        self._open_block = None

    def _new_block(self) -> SegmentBlock | None:
        """A block for the segment that just opened, sized from the newest closed one
        (None before the window holds any: that segment stays in pieces)."""
        if not self.segments:
            return None
        last = self.segments[-1]
        return self._blocks.take(block_rows(last.size, last.duration, self.target))

    def _finish(self, info: SegmentInfo) -> LiveSegment:
        parts = self._parts
        size = self._open_bytes
        block = self._open_block
        whole = block.laid_out(size, parts) if block is not None and len(parts) > 1 else None
        if whole is not None:
            chunks: tuple[bytes | memoryview, ...] = (whole,)
        else:
            chunks = tuple(parts) if len(parts) <= MAX_CHUNKS else (b"".join(parts),)
        self._parts = []
        self._open_bytes = 0
        self._open = None
        self._open_block = None
        discontinuity = info.discontinuity or (self._new_publication and bool(self.segments))
        self._new_publication = False
        if discontinuity:
            self.discontinuities += 1
        wall, anchor_dts = self._anchor
        segment = LiveSegment(
            sequence=self.next_sequence,
            chunks=chunks,
            size=size,
            duration=info.duration / CLOCK_RATE,
            date_time=wall + (info.start - anchor_dts) / CLOCK_RATE,
            discontinuity=discontinuity,
            discontinuity_number=self.discontinuities,
        )
        self.next_sequence += 1
        self.segments.append(segment)
        if block is not None:
            self._blocks.hold(segment.sequence, block)
        while len(self.segments) > self.count + 1:
            self.segments.popleft()
            self._blocks.release(self.segments[0].sequence)
        return segment

    def _drop_oversized(self) -> None:
        """No keyframe closed the segment in time: forget it and wait for the next keyframe."""
        self.oversized += 1
        tracks = list(self._tracks.values())
        self._segmenter = Segmenter(tracks, target=self._target_ticks)
        self._parts = []
        self._open_bytes = 0
        self._open = None
        self._open_block = None
        self._new_publication = True  # what follows does not continue what came before

    # -- reading -----------------------------------------------------------------------------

    def listed(self) -> list[LiveSegment]:
        """The segments the media playlist lists: the newest ``count``."""
        return list(self.segments)[-self.count :]

    def segment(self, sequence: int) -> LiveSegment | None:
        """A held segment by number (listed, or the one kept for late clients)."""
        for segment in self.segments:
            if segment.sequence == sequence:
                return segment
        return None

    def media_playlist(self, uri: str = "") -> str:
        """The live media playlist; segment URIs get ``uri`` as a prefix."""
        listed = self.listed()
        first = listed[0] if listed else None
        discontinuity = self.discontinuity_base + (
            first.discontinuity_number - int(first.discontinuity) if first else self.discontinuities
        )
        playlist = MediaPlaylist(
            [
                Segment(uri + segment_uri(s.sequence), s.duration, s.date_time, s.discontinuity)
                for s in listed
            ],
            target=self.target,
            media_sequence=first.sequence if first else self.next_sequence,
            discontinuity_sequence=discontinuity,
        )
        return render_media_playlist(playlist)

    def _cached(self, key: object, render: Callable[[], str]) -> bytes:
        """``render()`` as bytes, made once per change of the held segments: every change
        closes a segment, which advances ``next_sequence``."""
        return self._rendered.get(self.next_sequence, key, render)

    def media_playlist_bytes(self, uri: str = "") -> bytes:
        """:meth:`media_playlist` encoded, rendered once per new segment (what the HTTP side
        sends to every player that polls)."""
        return self._cached(("media", uri), lambda: self.media_playlist(uri))

    def master_playlist_bytes(self, tracks: Iterable[Track], uri: str = "mono.m3u8") -> bytes:
        """:meth:`master_playlist` encoded, rendered once per new segment and set of tracks."""
        tracks = tuple(tracks)
        return self._cached(("master", tracks, uri), lambda: self.master_playlist(tracks, uri))

    def bandwidth(self) -> tuple[int, int]:
        """Peak and average bits per second over the held segments (RFC 8216 4.3.4.2)."""
        peak = 0
        total_bits = 0
        total_seconds = 0.0
        for s in self.segments:
            seconds = max(s.duration, 0.001)
            peak = max(peak, int(s.size * 8 / seconds))
            total_bits += s.size * 8
            total_seconds += seconds
        average = int(total_bits / total_seconds) if total_seconds else 0
        return peak, average

    def master_playlist(self, tracks: Iterable[Track], uri: str = "mono.m3u8") -> str:
        """The master playlist: one variant, the media playlist at ``uri``."""
        tracks = list(tracks)
        peak, average = self.bandwidth()
        variant = Variant(
            uri,
            bandwidth=peak,
            average_bandwidth=average or None,
            codecs=codecs_attribute(tracks),
            resolution=resolution_of(tracks),
        )
        return render_master_playlist([variant])
