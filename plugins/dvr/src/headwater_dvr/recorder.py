"""The DVR recorder: one publication → keyframe-aligned TS segments on disk and in the index.

It runs on its own bounded subscription (the core's drop-to-next-keyframe policy applies,
so a slow disk never slows the publisher). Frames go through
:class:`~headwater.media.segmenter.Segmenter`; each segment is written with aiofiles as a
``.part`` file, its index row inserted *before* the file exists (so a crash never leaves a
file the index does not know), and both are brought up to date at least every
``FLUSH_SECONDS``: bytes reach the OS first, then the row records them, so a row never
claims bytes that are not on disk. A closed segment is renamed to its final name (which
carries its duration) and marked complete.

Cost: the recorder wakes up at most every ``GATHER_SECONDS`` and takes every frame queued
since (one task switch per batch instead of one per frame), and hands its buffered bytes to
the OS in one write per ``FLUSH_SECONDS``; a frame waits at most about
``GATHER_SECONDS + FLUSH_SECONDS`` (0.5 s) before it is on disk.

Time axis: the wall clock at ingest. The first segment of a publication starts at the
moment its first frame arrives; each next one where the previous ended, re-anchored to the
wall clock when the publisher's timestamps drift from it by more than ``MAX_DRIFT_MS``
(unless the recorder is merely behind, with frames still queued).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiofiles
import anyio

from headwater import DVRSettings
from headwater.media.frames import CLOCK_RATE
from headwater.media.segmenter import Segmenter, SegmentInfo
from headwater_dvr.archive import Archive
from headwater_dvr.index import SegmentRow
from headwater_dvr.layout import final_path, part_path

if TYPE_CHECKING:
    from headwater import Subscription

log = logging.getLogger("headwater.dvr")

GATHER_SECONDS = 0.1
"""Pause between batches: frames gather in the subscription meanwhile (a few per stream)."""
FLUSH_SECONDS = 0.4
"""Buffered bytes reach the OS at least this often (and the index follows within a second)."""
FLUSH_BYTES = 256 << 10
INDEX_SECONDS = 1.0
MAX_DRIFT_MS = 2000
CAUGHT_UP_FRAMES = 50
"""Fewer frames than this queued: the recorder keeps up, so the wall clock is ingest time."""


@dataclass(slots=True)
class _Open:
    """The segment being written."""

    info: SegmentInfo
    start_ms: int
    path: str
    file: Any
    buffer: list[bytes] = field(default_factory=list)
    buffered: int = 0
    written: int = 0
    first_dts: int = 0
    last_dts: int = 0
    indexed_at: float = 0.0
    discontinuity: bool = False


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
    ) -> None:
        self.name = "dvr"
        self.stream_name = stream_name
        self.archive = archive
        self.settings = settings
        self.on_limit = on_limit
        self.clock = clock
        self.gather = gather
        """Seconds to let frames gather between batches (0: take each as it comes)."""
        self.segments = 0
        self.bytes_written = 0
        self._open: _Open | None = None
        self._pending: Callable[[], int] = lambda: 0
        self._next_ms: int | None = None
        self._last_flush = 0.0

    async def run(self, subscription: Subscription) -> None:
        """Record until the publication ends; the last segment is closed even on cancel."""
        self._pending = lambda: subscription.pending
        target = round(self.settings.segment_duration * CLOCK_RATE)
        segmenter = Segmenter(subscription.tracks, target=target)
        log.info(
            "%s: recording into %s (segments of %gs)",
            self.stream_name,
            self.archive.root,
            self.settings.segment_duration,
        )
        try:
            feed_many = segmenter.feed_many
            gather = self.gather
            async for frame in subscription:
                current = self._open
                batch = (frame, *subscription.drain())
                # the batch muxed at once: one step per run of frames between boundaries
                for step in feed_many(batch):
                    if step.closed is not None or step.opened is not None:
                        if step.closed is not None and current is not None:
                            await self._finish(current, step.closed)
                        if step.opened is not None:
                            # the newest frame of the batch arrived about now
                            await self._start(step.opened, batch[-1].dts - step.opened.start)
                        current = self._open
                    data = step.data
                    if data and current is not None:
                        current.buffer.append(data)
                        current.buffered += len(data)
                        current.last_dts = step.last_dts
                now = time.monotonic()
                if current is not None and (
                    current.buffered >= FLUSH_BYTES or now - self._last_flush >= FLUSH_SECONDS
                ):
                    await self._flush(current, now)
                if gather:
                    await anyio.sleep(gather)
        finally:
            with anyio.CancelScope(shield=True):
                last = segmenter.close()
                if self._open is not None and last is not None:
                    await self._finish(self._open, last)
                log.info(
                    "%s: recording stopped (%d segments, %d bytes)",
                    self.stream_name,
                    self.segments,
                    self.bytes_written,
                )

    # -- segments -------------------------------------------------------------------------

    def _start_ms(self, info: SegmentInfo, behind: int = 0) -> int:
        """Where a segment starts on the archive's time axis; ``behind`` (90 kHz ticks) is
        how much media of the same batch came after its first frame (arrived since)."""
        now_ms = int(self.clock() * 1000)
        if 0 < behind <= 2 * self.gather * CLOCK_RATE:
            now_ms -= behind * 1000 // CLOCK_RATE
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
        return now_ms

    async def _start(self, info: SegmentInfo, behind: int = 0) -> None:
        start_ms = self._start_ms(info, behind)
        relative = part_path(self.stream_name, start_ms)
        discontinuity = info.discontinuity or self._next_ms is None or start_ms != self._next_ms
        row = SegmentRow(
            self.stream_name, start_ms, 0, 0, relative, discontinuity=discontinuity, complete=False
        )
        self.archive.writing.add((self.stream_name, start_ms))
        await self.archive.put(row)  # the row first: no file the index does not know
        path = self.archive.root / relative
        await self.archive.run(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        file = await aiofiles.open(path, "wb", buffering=0)  # each write goes to the OS
        self._open = _Open(
            info,
            start_ms,
            relative,
            file,
            first_dts=info.start,
            last_dts=info.start,
            discontinuity=discontinuity,
        )

    async def _flush(self, current: _Open, now: float) -> None:
        if current.buffer:
            data = b"".join(current.buffer)
            current.buffer.clear()
            current.buffered = 0
            view = memoryview(data)
            while view:  # unbuffered: each call hands the bytes to the OS (all, as a rule)
                view = view[await current.file.write(view) :]
            current.written += len(data)
            self.bytes_written += len(data)
        self._last_flush = now
        if now - current.indexed_at >= INDEX_SECONDS:
            current.indexed_at = now
            progress = (current.last_dts - current.first_dts) * 1000 // CLOCK_RATE
            await self.archive.put(
                SegmentRow(
                    self.stream_name,
                    current.start_ms,
                    max(progress, 0),
                    current.written,
                    current.path,
                    current.info.keyframes,
                    current.discontinuity,
                    complete=False,
                )
            )

    async def _finish(self, current: _Open, info: SegmentInfo) -> None:
        self._open = None
        key = (self.stream_name, current.start_ms)
        try:
            await self._flush(current, time.monotonic())
            await current.file.close()
            duration_ms = info.duration * 1000 // CLOCK_RATE
            relative = final_path(self.stream_name, current.start_ms, duration_ms)
            root = self.archive.root
            await self.archive.run(os.replace, root / current.path, root / relative)
            await self.archive.put(
                SegmentRow(
                    self.stream_name,
                    current.start_ms,
                    duration_ms,
                    current.written,
                    relative,
                    info.keyframes,
                    current.discontinuity,
                    complete=True,
                )
            )
        finally:
            self.archive.writing.discard(key)
        self.segments += 1
        self._next_ms = current.start_ms + duration_ms
        limit = self.settings.storage_limit
        summary = self.archive.summaries.get(self.stream_name)
        if limit and summary is not None and summary.bytes > limit and self.on_limit:
            self.on_limit()
