"""The sans-I/O core of low-latency HLS: frames in, fMP4 parts, segments and playlists out.

:class:`PartWindow` is the low-latency sibling of :class:`~headwater_hls.window.SegmentWindow`
(same publication calls, same numbering rules, same wall-clock anchoring), cutting CMAF
fragments with :class:`~headwater.media.fmp4.FragmentMuxer`:

- a *segment* starts at a video keyframe (audio-only: at any frame) and ends at the first
  keyframe at or past ``target`` seconds, as in the MPEG-TS HLS; the first segment of a
  publication ends at its next keyframe, so that the cached group of pictures is a whole
  segment at once for players that ignore parts;
- a *part* (RFC 8216bis 4.4.4.9) is one ``moof``+``mdat``; a new one starts at a video
  frame whose end would take the open part past ``part_target`` (so no part is longer than
  the ``PART-TARGET`` the playlist announces, unless a single frame is) and at each segment
  start; a part starting with a keyframe is ``INDEPENDENT=YES``; a segment's bytes are its
  parts' bytes in order;
- audio joins the part open when it arrives; in an audio-only stream parts are cut by
  audio frames the same way;
- each publication (and each change of a track's codec configuration) gets its own init
  segment, ``EXT-X-MAP`` and ``EXT-X-DISCONTINUITY``;
- parts are numbered across segments (``ll-part-N.m4s``) so that the preload hint always
  names a part that will exist, whether or not it starts a new segment.

It reads no clock and touches no socket: the caller passes wall-clock times in, and waits
for parts itself (:meth:`has_part` tells it when a blocking request can be answered).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from headwater.media.fmp4 import SUPPORTED, FragmentMuxer, MuxerNotReady
from headwater.media.frames import CLOCK_RATE, Frame, Track
from headwater.media.hls import (
    SKIP_TARGETS,
    LowLatencyPlaylist,
    Part,
    PartedSegment,
    Variant,
    codecs_attribute,
    render_low_latency_playlist,
    render_master_playlist,
    resolution_of,
)
from headwater_hls.live_parts import LivePart, PartedLiveSegment, init_uri, part_uri, segment_uri
from headwater_hls.render_cache import RenderCache

LISTED_PART_SPAN = 3
"""Parts are listed for the segments ending within this many target durations of the live
edge (RFC 8216bis 4.4.4.9: older parts SHOULD leave the playlist)."""


class PartWindow:
    """One stream's low-latency HLS: the segment and part being cut and the last closed ones.

    :param target: ``segment_duration`` in seconds.
    :param part_target: ``part_duration`` in seconds.
    :param count: ``segment_count``: complete segments listed (one more is kept).
    :param sequence: media sequence number of the first segment.
    :param discontinuity: ``EXT-X-DISCONTINUITY-SEQUENCE`` of the first playlist.
    :param max_segment_bytes: a segment past this size (no keyframe came to end it) is
        thrown away and cutting restarts at the next keyframe.
    """

    def __init__(
        self,
        *,
        target: float,
        part_target: float,
        count: int,
        sequence: int,
        discontinuity: int,
        max_segment_bytes: int = 64 << 20,
    ) -> None:
        if part_target >= target:
            raise ValueError("the part duration must be shorter than the segment duration")
        self.target = target
        self.part_target = part_target
        self.count = count
        self.max_segment_bytes = max_segment_bytes
        self.segments: deque[PartedLiveSegment] = deque()
        """Closed segments, then the open one (if any)."""
        self.next_sequence = sequence
        self.discontinuity_base = discontinuity
        self.discontinuities = 0
        self.next_part = 1
        """Number of the next part to close (the preload hint's)."""
        self.inits: dict[int, bytes] = {}
        self.oversized = 0
        self._init_number = 0
        self._parts: dict[int, LivePart] = {}
        self._muxer: FragmentMuxer | None = None
        self._tracks: dict[int, Track] = {}
        self._anchor: tuple[float, int] = (0.0, 0)
        self._publishing = False
        self._new_publication = False
        self._first_segment = True
        """The first segment of a publication ends at its next keyframe (see the module)."""
        self._open: PartedLiveSegment | None = None
        self._segment_start = 0
        self._part_frames: list[Frame] = []
        self._part_bytes = 0
        self._part_start = 0
        self._part_independent = False
        self._open_bytes = 0
        self._last_dts: dict[int, int] = {}
        self._step: dict[int, int] = {}
        self._rendered = RenderCache()

    # -- publications ------------------------------------------------------------------

    def start_publication(self, tracks: Sequence[Track], now: float, latest_dts: int) -> None:
        """A publication begins; ``latest_dts`` arrived at wall-clock ``now`` (see
        :meth:`SegmentWindow.start_publication`)."""
        self.end_publication()
        self._tracks = {t.id: t for t in tracks if t.codec in SUPPORTED}
        self._anchor = (now, latest_dts)
        self._last_dts = {}
        self._step = {}
        self._publishing = True
        self._new_publication = True
        self._first_segment = True
        self._muxer = None

    def end_publication(self) -> LivePart | None:
        """The publication ended: close the open part and segment."""
        if not self._publishing:
            return None
        self._publishing = False
        part = None
        if self._open is not None and self._part_frames:
            end = max(self._last_dts[t] + self._step.get(t, 0) for t in self._last_dts)
            part = self._close_part(end)
        self._close_segment()
        self._muxer = None
        return part

    @property
    def publishing(self) -> bool:
        """True between :meth:`start_publication` and :meth:`end_publication`."""
        return self._publishing

    def seconds_to_cut(self) -> float:
        """Always 0: a part may close at any frame (low-latency HLS takes each frame as it
        comes; see :meth:`SegmentWindow.seconds_to_cut`)."""
        return 0.0

    @property
    def _has_video(self) -> bool:
        return any(t.is_video for t in self._tracks.values())

    # -- frames ------------------------------------------------------------------------

    def feed(self, frame: Frame) -> LivePart | None:
        """Take one frame; return the part it closed, if any."""
        if not self._publishing:
            raise RuntimeError("feed() outside a publication")
        track = frame.track
        if track.codec not in SUPPORTED:
            return None
        restarted = None
        known = self._tracks.get(track.id)
        if known is not track:
            self._tracks[track.id] = track
            if known is None or not _configured_alike(known, track):
                restarted = self._restart()  # a new track or configuration: a new init
        self._remember(frame)
        video = track.is_video
        keyframe = video and frame.keyframe
        if self._open is None:
            if keyframe or not self._has_video:
                self._begin(frame)
            return restarted
        cuts = video or not self._has_video
        target = 1 if self._first_segment and self._has_video else self._ticks
        if cuts and (keyframe or not video) and frame.dts - self._segment_start >= target:
            part = self._close_part(frame.dts)
            self._close_segment()
            self._begin(frame)
            return part
        if cuts and frame.dts + self._step.get(track.id, 0) - self._part_start > self._part_ticks:
            part = self._close_part(frame.dts)
            self._start_part(frame, keyframe or not video)
            return part
        self._add(frame)
        return None

    def feed_many(self, frames: Sequence[Frame]) -> bool:
        """Take many frames, each as :meth:`feed`; True when any closed a part."""
        ready = False
        for frame in frames:
            if self.feed(frame) is not None:
                ready = True
        return ready

    @property
    def _ticks(self) -> int:
        return max(1, round(self.target * CLOCK_RATE))

    @property
    def _part_ticks(self) -> int:
        return max(1, round(self.part_target * CLOCK_RATE))

    def _remember(self, frame: Frame) -> None:
        tid = frame.track.id
        last = self._last_dts.get(tid)
        if last is not None and 0 < frame.dts - last <= 10 * CLOCK_RATE:
            self._step[tid] = frame.dts - last
        self._last_dts[tid] = frame.dts

    def _restart(self) -> LivePart | None:
        """A track changed its configuration: close what is open; a new init follows."""
        part = None
        if self._open is not None and self._part_frames:
            end = max(self._last_dts[t] + self._step.get(t, 0) for t in self._last_dts)
            part = self._close_part(end)
        self._close_segment()
        self._muxer = None
        self._new_publication = True
        return part

    def _begin(self, frame: Frame) -> None:
        """Open a segment (and its first part) with ``frame``; a new init when needed."""
        if self._muxer is None:
            muxer = FragmentMuxer(list(self._tracks.values()), frame.dts)
            try:
                init = muxer.init_segment(frame if frame.track.is_video else None)
            except MuxerNotReady:
                return  # no parameter sets yet: wait for a keyframe that carries them
            self._muxer = muxer
            self._init_number += 1
            self.inits[self._init_number] = init
        discontinuity = self._new_publication and bool(self.segments)
        self._new_publication = False
        if discontinuity:
            self.discontinuities += 1
        wall, anchor_dts = self._anchor
        self._open = PartedLiveSegment(
            sequence=self.next_sequence,
            init=self._init_number,
            date_time=wall + (frame.dts - anchor_dts) / CLOCK_RATE,
            discontinuity=discontinuity,
            discontinuity_number=self.discontinuities,
        )
        self.next_sequence += 1
        self._segment_start = frame.dts
        self._open_bytes = 0
        self._start_part(frame, True)

    def _start_part(self, frame: Frame, independent: bool) -> None:
        self._part_frames = [frame]
        self._part_bytes = frame.size
        self._part_start = frame.dts
        self._part_independent = independent

    def _add(self, frame: Frame) -> None:
        if self._muxer is not None and self._muxer.carries(frame):
            self._part_frames.append(frame)
            self._part_bytes += frame.size
            if self._open_bytes + self._part_bytes > self.max_segment_bytes:
                self._drop_oversized()  # timestamps that never advance: no part ever closes

    def _close_part(self, end: int) -> LivePart | None:
        segment, muxer, frames = self._open, self._muxer, self._part_frames
        self._part_frames = []
        if segment is None or muxer is None:
            return None
        frames = [f for f in frames if muxer.carries(f)]
        if not frames:
            return None
        data = muxer.fragment(frames)
        part = LivePart(
            self.next_part,
            data,
            max(end - self._part_start, 0) / CLOCK_RATE,
            self._part_independent,
        )
        self.next_part += 1
        if not segment.parts:
            self.segments.append(segment)
        segment.parts.append(part)
        self._parts[part.number] = part
        self._open_bytes += len(data)
        if self._open_bytes > self.max_segment_bytes:
            self._drop_oversized()
        return part

    def _close_segment(self) -> None:
        segment = self._open
        self._open = None
        if segment is None or not segment.parts:
            return
        segment.complete = True
        self._first_segment = False
        while sum(1 for s in self.segments if s.complete) > self.count + 1:
            old = self.segments.popleft()
            for part in old.parts:
                self._parts.pop(part.number, None)
            if not any(s.init == old.init for s in self.segments):
                self.inits.pop(old.init, None)

    def _drop_oversized(self) -> None:
        """No keyframe ended the segment in time: forget it and wait for the next keyframe."""
        self.oversized += 1
        segment = self._open
        self._open = None
        if segment is not None:
            # its number goes to the next segment: media sequence numbers stay consecutive
            self.next_sequence = segment.sequence
            if segment.discontinuity:
                self.discontinuities -= 1  # the next segment carries the discontinuity
            if self.segments and self.segments[-1] is segment:
                self.segments.pop()
            for part in segment.parts:
                self._parts.pop(part.number, None)
        self._part_frames = []
        self._part_bytes = 0
        self._new_publication = True

    # -- reading -----------------------------------------------------------------------

    @property
    def has_complete_segment(self) -> bool:
        """Whether a whole segment is held (what players that ignore parts need first)."""
        return any(s.complete for s in self.segments)

    @property
    def open_segment(self) -> PartedLiveSegment | None:
        """The segment still being cut, once it has a part."""
        last = self.segments[-1] if self.segments else None
        return last if last is not None and not last.complete else None

    def part(self, number: int) -> LivePart | None:
        """A held part by number."""
        return self._parts.get(number)

    def segment(self, sequence: int) -> PartedLiveSegment | None:
        """A held complete segment by media sequence number."""
        for segment in self.segments:
            if segment.sequence == sequence and segment.complete:
                return segment
        return None

    def last_position(self) -> tuple[int, int] | None:
        """(media sequence number, part index) of the newest part, or None."""
        if not self.segments:
            return None
        last = self.segments[-1]
        return last.sequence, len(last.parts) - 1

    def has_part(self, sequence: int, part: int | None) -> bool:
        """Whether the playlist holds part ``part`` of segment ``sequence`` (or segment
        ``sequence`` whole when ``part`` is None), or anything later (6.2.5.2)."""
        for segment in reversed(self.segments):
            if segment.sequence > sequence:
                return True
            if segment.sequence == sequence:
                if part is None:
                    return segment.complete
                return segment.complete or len(segment.parts) > part
        return False

    def listed(self) -> list[PartedLiveSegment]:
        """The segments the playlist lists: the newest ``count`` complete ones and the open
        one."""
        complete = [s for s in self.segments if s.complete][-self.count :]
        open_segment = self.open_segment
        return complete + ([open_segment] if open_segment is not None else [])

    @property
    def can_skip(self) -> bool:
        """Whether the playlist is long enough for a delta update to leave segments out
        (``segment_count`` segments span more than the six target durations of the skip
        boundary), so it advertises ``CAN-SKIP-UNTIL``."""
        return self.count * self.target > SKIP_TARGETS * math.ceil(self.target - 1e-9)

    def media_playlist(self, skip: bool = False) -> str:
        """The low-latency media playlist; with ``skip``, its Playlist Delta Update
        (``_HLS_skip=YES``: the oldest segments as ``EXT-X-SKIP``) when it offers them."""
        listed = self.listed()
        first = listed[0] if listed else None
        discontinuity = self.discontinuity_base + (
            first.discontinuity_number - int(first.discontinuity) if first else self.discontinuities
        )
        edge = 0.0
        horizon = LISTED_PART_SPAN * self.target
        segments = []
        for s in reversed(listed):
            show_parts = not s.complete or edge < horizon
            edge += s.duration
            segments.append(
                PartedSegment(
                    uri=segment_uri(s.sequence) if s.complete else None,
                    duration=s.duration,
                    parts=[Part(part_uri(p.number), p.duration, p.independent) for p in s.parts]
                    if show_parts
                    else [],
                    map_uri=init_uri(s.init),
                    date_time=s.date_time,
                    discontinuity=s.discontinuity,
                )
            )
        segments.reverse()
        playlist = LowLatencyPlaylist(
            segments,
            target=self.target,
            part_target=self.part_target,
            media_sequence=first.sequence if first else self.next_sequence,
            discontinuity_sequence=discontinuity,
            preload_hint=part_uri(self.next_part) if self._publishing else None,
            can_skip=self.can_skip,
            skip=skip,
        )
        return render_low_latency_playlist(playlist)

    def _state(self) -> tuple[object, ...]:
        """What the playlists depend on, in a form that changes whenever they do: a part
        closing advances ``next_part``, a segment starting ``next_sequence``; a segment
        closing without a new part empties ``_open``; the preload hint follows
        ``publishing``; a thrown-away segment counts in ``oversized``."""
        return (
            self.next_part,
            self.next_sequence,
            self._publishing,
            self._open is None,
            self.oversized,
            len(self.segments),
        )

    def _cached(self, key: object, render: Callable[[], str]) -> bytes:
        return self._rendered.get(self._state(), key, render)

    def media_playlist_bytes(self, skip: bool = False) -> bytes:
        """:meth:`media_playlist` encoded, rendered once per change of the window (what
        the HTTP side sends to every player that polls or is woken by a blocking reload)."""
        return self._cached(("media", skip), lambda: self.media_playlist(skip))

    def master_playlist_bytes(self, tracks: Iterable[Track], uri: str) -> bytes:
        """:meth:`master_playlist` encoded, rendered once per change and set of tracks."""
        tracks = tuple(tracks)
        return self._cached(("master", tracks, uri), lambda: self.master_playlist(tracks, uri))

    def bandwidth(self) -> tuple[int, int]:
        """Peak and average bits per second over the held complete segments."""
        peak, bits, seconds = 0, 0, 0.0
        for s in self.segments:
            if not s.complete:
                continue
            size, duration = sum(len(p.data) for p in s.parts), max(s.duration, 0.001)
            peak = max(peak, int(size * 8 / duration))
            bits += size * 8
            seconds += duration
        return peak, int(bits / seconds) if seconds else 0

    def master_playlist(self, tracks: Iterable[Track], uri: str) -> str:
        """A master playlist with one variant (the tracks fMP4 carries) at ``uri``."""
        carried = [t for t in tracks if t.codec in SUPPORTED]
        peak, average = self.bandwidth()
        variant = Variant(
            uri,
            bandwidth=peak,
            average_bandwidth=average or None,
            codecs=codecs_attribute(carried),
            resolution=resolution_of(carried),
        )
        return render_master_playlist([variant])


def _configured_alike(old: Track, new: Track) -> bool:
    return (old.codec, old.config, old.parameter_sets) == (
        new.codec,
        new.config,
        new.parameter_sets,
    )
