"""The DVR recorder: one publication → keyframe-aligned TS segments on disk and in the index.

It runs on its own bounded subscription (the core's drop-to-next-keyframe policy applies,
so a slow disk never slows the publisher). Frames go through
:class:`~headwater.media.segmenter.Segmenter`; the recorder keeps each segment's bytes in
memory and leaves the disk to its archive's :class:`~headwater_dvr.writer.SegmentWriter`,
which writes every recorder of the root in one batch every tick (the row of a new segment
first, then its ``.part`` file, the bytes, and the rows of what is on disk; a closed
segment is renamed to its final name, which carries its duration, and marked complete).
The recorder itself does no I/O and no thread hand-off.

Cost: recorders do not wake up one by one. Every tick one pass over every recorder of the
root (:meth:`~headwater_dvr.writer.SegmentWriter.attend`, run by one of their tasks) takes
the frames each subscription gathered (:meth:`DvrRecorder.poll`), muxes each batch in one
:meth:`~headwater.media.segmenter.Segmenter.feed_many` call into the recorder's
:class:`~headwater.media.mpegts.packet_block.PacketArena` (memory reused from one tick to
the next), and flushes the root. The tick is 0.4 to ``GATHER_SECONDS`` (0.8 s): as long as
the recent passes and writes leave room for, so that a frame reaches the OS within about
0.8 s of its arrival (:meth:`~headwater_dvr.writer.SegmentWriter.next_tick`); the longer
the batches, the less the muxing costs a frame. With ``gather=0`` (tests) the recorder
takes each frame as it comes in its own task.

Audio: the AAC frames of a batch that follow each other on the audio time line share a
PES of up to 2930 bytes (:data:`~headwater.media.mpegts.audio_groups.AUDIO_PES_BYTES`, what
ffmpeg's TS muxer writes), which players read back frame for frame: the recording costs
less to mux and is smaller than with a PES per frame.

Time axis: the wall clock at ingest. The first segment of a publication starts at the
moment its first frame arrives; each next one where the previous ended, re-anchored to the
wall clock when the publisher's timestamps drift from it by more than ``MAX_DRIFT_MS``
(unless the recorder is merely behind, with frames still queued).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import anyio

from headwater import DVRSettings
from headwater.media.frames import CLOCK_RATE, Frame, Track
from headwater.media.mpegts import packet_block
from headwater.media.mpegts.audio_groups import AUDIO_PES_BYTES
from headwater.media.mpegts.packet_block import PacketArena
from headwater.media.segmenter import Segmenter, SegmentInfo
from headwater_dvr.archive import Archive
from headwater_dvr.index import SegmentRow
from headwater_dvr.layout import final_path, part_path
from headwater_dvr.writer import FLUSH_SECONDS, INDEX_SECONDS, LONGEST_TICK, OpenSegment

if TYPE_CHECKING:
    from headwater import Subscription

log = logging.getLogger("headwater.dvr")

GATHER_SECONDS = LONGEST_TICK
"""The longest tick of the root's pass over its recorders: frames gather in each
subscription meanwhile (some 30 to 60 per stream), are muxed in one batch and flushed in
the same tick (shorter ticks when the passes are slow, see
:meth:`~headwater_dvr.writer.SegmentWriter.next_tick`)."""
MAX_DRIFT_MS = 2000
CAUGHT_UP_FRAMES = 50
"""Fewer frames than this queued: the recorder keeps up, so the wall clock is ingest time."""


def recording_segmenter(tracks: Sequence[Track], *, target: int) -> Segmenter:
    """The segmenter a recorder cuts with: AAC frames grouped into PES of up to
    :data:`~headwater.media.mpegts.audio_groups.AUDIO_PES_BYTES` (see the module docstring)."""
    return Segmenter(tuple(tracks), target=target, audio_pes_bytes=AUDIO_PES_BYTES)


class DvrRecorder:
    """A consumer recording one stream into its DVR root (see the module docstring)."""

    def __init__(
        self,
        stream_name: str,
        archive: Archive,
        settings: DVRSettings,
        *,
        on_limit: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        gather: float = GATHER_SECONDS,
        segmenter: Callable[..., Segmenter] = recording_segmenter,
    ) -> None:
        self.name = "dvr"
        self.stream_name = stream_name
        self.archive = archive
        self.settings = settings
        self.on_limit = on_limit
        self.clock = clock
        self.gather = gather
        """The longest tick: seconds frames may gather between batches (0: take each as it
        comes; below ``FLUSH_SECONDS``, a fixed tick)."""
        self.make_segmenter = segmenter
        """Builds the segmenter from (tracks, target=ticks); a benchmark may substitute one."""
        self.segments = 0
        self.bytes_written = 0
        self._open: OpenSegment | None = None
        self._pending: Callable[[], int] = lambda: 0
        self._subscription: Subscription | None = None
        self._segmenter: Segmenter | None = None
        self._finished = False
        """The publication ended and every frame was taken (or the recorder failed)."""
        self._error: Exception | None = None
        self._taken_ms = 0
        """The clock (ms) when the previous batch was taken (or the recording began)."""
        self._arena: PacketArena | None = None
        """Memory the packets of each pass are laid out in (reused once they are written)."""
        self._next_ms: int | None = None

    async def run(self, subscription: Subscription) -> None:
        """Record until the publication ends; the last segment is closed even on cancel."""
        self._subscription = subscription
        self._taken_ms = int(self.clock() * 1000)
        self._pending = lambda: subscription.pending
        target = round(self.settings.segment_duration * CLOCK_RATE)
        segmenter = self._segmenter = self.make_segmenter(subscription.tracks, target=target)
        writer = self.archive.writer
        log.info(
            "%s: recording into %s (segments of %gs)",
            self.stream_name,
            self.archive.root,
            self.settings.segment_duration,
        )
        try:
            if self.gather:
                # every recorder of the root is served by one pass per tick (the writer's
                # attend): this task waits until the recording is finished
                if packet_block.AVAILABLE:
                    self._arena = PacketArena()
                await writer.attend(self, self.gather)
                if self._error is not None:
                    raise self._error
            else:
                async for frame in subscription:  # each frame as it comes (tests)
                    self.take((frame, *subscription.drain()))
                    await writer.pace(self._open)
        finally:
            self._finished = True
            with anyio.CancelScope(shield=True):
                last = segmenter.close()
                if self._open is not None and last is not None:
                    self._finish(self._open, last)
                await writer.flush()  # on disk and indexed before we say so
                log.info(
                    "%s: recording stopped (%d segments, %d bytes)",
                    self.stream_name,
                    self.segments,
                    self.bytes_written,
                )

    @property
    def finished(self) -> bool:
        """The publication ended and every frame was taken (or the recorder failed)."""
        return self._finished

    def poll(self) -> None:
        """Take what the subscription gathered since the last tick (the writer's pass calls
        it for every recorder of the root); notice the end of the publication."""
        subscription = self._subscription
        if subscription is None or self._finished:
            return
        arena = self._arena
        if arena is not None:  # the previous pass's bytes are written: reuse the memory
            arena.reset()
        try:
            frames = subscription.drain()
            if frames:
                self.take(frames, arena)
            if self._open is not None and self._open.error is not None:
                raise self._open.error
        except Exception as exc:  # ends this recorder only, raised from its own task
            self._error = exc
            self._finished = True
            return
        if subscription.ended and not subscription.pending:
            self._finished = True

    def take(self, batch: Sequence[Frame], arena: PacketArena | None = None) -> None:
        """Mux a batch of frames into the open segment (one step per run of frames
        between segment boundaries); segments open and close at the same frames as one
        by one. No I/O: the writer's next flush takes the bytes (laid out in ``arena``
        when given, which must not be reset before that flush is done)."""
        segmenter = self._segmenter
        assert segmenter is not None, "take() before run()"
        current = self._open
        taken_ms = int(self.clock() * 1000)
        for step in segmenter.feed_many(batch, arena):
            if step.closed is not None or step.opened is not None:
                if step.closed is not None and current is not None:
                    self._finish(current, step.closed)
                if step.opened is not None:
                    # the newest frame of the batch arrived about now
                    self._start(step.opened, batch[-1].dts - step.opened.start)
                current = self._open
            data = step.data
            if data and current is not None:
                current.buffer.append(data)
                current.buffered += len(data)
                current.last_dts = step.last_dts
        self._taken_ms = taken_ms

    # -- segments -------------------------------------------------------------------------

    def _start_ms(self, info: SegmentInfo, behind: int = 0) -> int:
        """Where a segment starts on the archive's time axis; ``behind`` (90 kHz ticks) is
        how much media of the same batch came after its first frame (arrived since), but
        that frame came after the previous batch was taken (a publisher's first burst
        can hold more media than the time between two batches)."""
        now_ms = int(self.clock() * 1000)
        if behind > 0:
            now_ms = max(now_ms - behind * 1000 // CLOCK_RATE, min(self._taken_ms, now_ms))
        predicted = self._next_ms
        if predicted is not None:
            behind = now_ms - predicted
            # behind the clock with frames still queued is the recorder's own lag, not a
            # gap in the publication: the publisher's timestamps stay the measure
            lagging = self._pending() > CAUGHT_UP_FRAMES
            if -MAX_DRIFT_MS <= behind <= MAX_DRIFT_MS or (behind > 0 and lagging):
                return predicted
        if predicted is not None:
            log.info(
                "%s: archive time re-anchored to the wall clock (%+d ms)",
                self.stream_name,
                now_ms - predicted,
            )
        summary = self.archive.summaries.get(self.stream_name)
        if summary is not None and summary.ranges:  # never overlap what is recorded
            now_ms = max(now_ms, summary.ranges[-1][1])
        if predicted is not None:  # nor what this recorder wrote (maybe not indexed yet)
            now_ms = max(now_ms, predicted)
        return now_ms

    def _start(self, info: SegmentInfo, behind: int = 0) -> None:
        """A segment opens: the writer creates its row and file with its next flush."""
        start_ms = self._start_ms(info, behind)
        discontinuity = info.discontinuity or self._next_ms is None or start_ms != self._next_ms
        self._open = OpenSegment(
            info,
            self.stream_name,
            start_ms,
            part_path(self.stream_name, start_ms),
            discontinuity,
            first_dts=info.start,
            last_dts=info.start,
            owner=self,
        )
        self.archive.writer.begin(self._open)

    def _finish(self, current: OpenSegment, info: SegmentInfo) -> None:
        """A segment closes: the writer writes its last bytes, renames and indexes it."""
        self._open = None
        duration_ms = info.duration * 1000 // CLOCK_RATE
        final = SegmentRow(
            self.stream_name,
            current.start_ms,
            duration_ms,
            current.written + current.buffered,
            final_path(self.stream_name, current.start_ms, duration_ms),
            info.keyframes,
            current.discontinuity,
            complete=True,
        )
        self.archive.writer.end(current, final)
        self.segments += 1
        self._next_ms = current.start_ms + duration_ms
        limit = self.settings.storage_limit
        summary = self.archive.summaries.get(self.stream_name)
        if limit and summary is not None and summary.bytes > limit and self.on_limit:
            self.on_limit()


__all__ = ["FLUSH_SECONDS", "GATHER_SECONDS", "INDEX_SECONDS", "DvrRecorder", "recording_segmenter"]
