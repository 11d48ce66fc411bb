"""The segment writer of one DVR root: every recorder's bytes reach the disk in one batch.

Recorders never touch the disk themselves. They append each segment's TS bytes to its
:class:`OpenSegment` in memory and tell the writer when a segment starts and ends; every
tick (0.4 to 0.8 s) the pass of :meth:`SegmentWriter.attend` (every recorder of the root
takes and muxes its frames, in one task) ends with :meth:`SegmentWriter.flush`, which
hands the whole batch — new segments, the bytes of every open segment, the segments that
ended — to the archive's worker thread in **one** call (the thread that also runs the
index, so the two never race). That is a few thread hand-offs a second for the whole
root, where one writer per recorder costs one per flush per stream, plus the open, close
and rename of each segment; SQLite sees at most two transactions a flush.

Inside that call the order is what the crash guarantees of ``docs/dvr.md`` rest on:

1. the rows of new segments are committed (``complete = 0``) *before* their files exist,
   so no file is ever unknown to the index;
2. the files are created (their directories made once and remembered), the bytes
   written (one ``os.writev`` per file, straight to the OS), finished segments closed and
   renamed to their final names;
3. one transaction records what is now on disk: the progress of every open segment (at
   most every ``INDEX_SECONDS``) and the finished segments as complete. A row therefore
   never claims bytes that are not on disk, and a frame is handed to the OS within a tick
   of its arrival plus the pass and the write, the tick (0.4 to 0.8 s) being fitted to
   what the recent passes and writes took so that this stays under a second
   (:meth:`SegmentWriter.next_tick`).

This is the brief's "written with aiofiles" done in bulk: aiofiles runs each call on a
file in a worker thread, one hand-off per call per file; here the same blocking calls run
off the event loop in one hand-off for all the files of a flush.

A disk that cannot keep up holds the recorders back (the next pass waits for the running
flush; a recorder fed frame by frame waits for it when a segment holds ``MAX_BUFFERED``
bytes), so the bound is the subscription's and the publisher is never slowed. A write
error ends only the segment it hit: its recorder raises it at its next step.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import anyio

from headwater.media.frames import CLOCK_RATE
from headwater.media.segmenter import SegmentInfo
from headwater_dvr.index import SegmentRow

if TYPE_CHECKING:
    from headwater_dvr.archive import Archive

log = logging.getLogger("headwater.dvr")

FLUSH_SECONDS = 0.4
"""The shortest tick, and how often a recorder fed frame by frame flushes."""
LONGEST_TICK = 0.8
"""The longest tick (:meth:`SegmentWriter.next_tick`): frames gather this long at most."""
INDEX_SECONDS = 1.0
"""The index follows the bytes on disk at least this often."""
LATENCY_BUDGET = 0.9
"""Seconds that a tick plus twice the lag the recent ticks predict for it (the pass and
the write, see :meth:`SegmentWriter.next_tick`) is fitted to: a frame reaches the OS
within a tick plus one lag of its arrival, so a ``kill -9`` loses at most the last second
even when the next pass and write take twice as long as predicted and a tenth more."""
TICK_GROWTH = 1.25
"""A tick is at most this many times the one before (:meth:`SegmentWriter.next_tick`)."""
IDLE_TICKS = 4
"""No pass for this many longest ticks (a root without recorders): the lags are forgotten."""
LATENCY_TICKS = 8
"""Recent ticks (some five seconds) whose lag, from when the tick was due to its bytes
being written, the next tick's length is fitted to."""
SLOW_FLUSH_SECONDS = 1.0
"""A flush this slow is logged as a warning."""
MAX_BUFFERED = 8 << 20
"""Bytes one segment may hold in memory before its recorder waits for the disk."""
IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 16, 1024)
"""Buffers one ``writev`` takes (the system's limit, 1024 on Linux)."""
MAX_DIRS = 4096
"""Directories remembered as made (a root writes into one per stream and minute)."""
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


@dataclass(slots=True, eq=False)
class OpenSegment:
    """The segment a recorder is writing: its row, its buffered bytes, its file."""

    info: SegmentInfo
    stream: str
    start_ms: int
    path: str
    """Relative to the root: the ``.part`` name while it is written."""
    discontinuity: bool = False
    buffer: list[bytes] = field(default_factory=list)
    buffered: int = 0
    first_dts: int = 0
    last_dts: int = 0
    written: int = 0
    """Bytes handed to the OS (only the writer's thread changes it)."""
    flushed_dts: int = 0
    """DTS of the last frame whose bytes are in ``written``."""
    fd: int = -1
    final: SegmentRow | None = None
    """The complete row, once the segment ended."""
    error: OSError | None = None
    owner: Any = None
    """The recorder (its ``bytes_written`` grows by the segment's bytes once it is done)."""

    def row(self, written: int, last_dts: int) -> SegmentRow:
        """The row of the segment while it is written, claiming ``written`` bytes."""
        progress = (last_dts - self.first_dts) * 1000 // CLOCK_RATE
        return SegmentRow(
            self.stream,
            self.start_ms,
            max(progress, 0),
            written,
            self.path,
            self.info.keyframes,
            self.discontinuity,
            complete=False,
        )


@dataclass(slots=True)
class _Batch:
    """What one flush hands to the worker thread (taken on the event loop)."""

    new: list[OpenSegment]
    writes: list[tuple[OpenSegment, list[bytes], int]]
    ended: list[OpenSegment]
    open: list[OpenSegment]
    """Every segment being written (for its progress row)."""
    progress: bool


class SegmentWriter:
    """Writes the segments of every recorder of one archive (see the module docstring)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.segments: dict[tuple[str, int], OpenSegment] = {}
        """Segments started and not yet complete on disk and in the index."""
        self.flushes = 0
        self.slowest = 0.0
        """Seconds the slowest flush took (worker thread included)."""
        self._warned = -60.0
        self._new: list[OpenSegment] = []
        self._ended: list[OpenSegment] = []
        self._dirs: set[str] = set()
        self._lock = anyio.Lock()
        self._last_flush = time.monotonic()
        self._last_index = 0.0
        self.members: dict[int, Any] = {}
        """Recorders served by the pass of each tick (:meth:`attend`), by ``id``."""
        self._leader: int | None = None
        """The member whose task runs the ticks."""
        self._waiting: dict[int, anyio.Event] = {}
        """What wakes each other member (when it is finished, or must lead)."""
        self._due = 0.0
        """When the last tick was due (``time.monotonic``)."""
        self.lags: deque[tuple[float, float]] = deque(maxlen=LATENCY_TICKS)
        """``(tick, lag)`` of the recent ticks: the seconds frames gathered, and the
        seconds from when the tick was due until its bytes were written (waking up late,
        waiting for a flush, the pass, the write)."""

    # -- recorders (event loop, no I/O) ---------------------------------------------------

    def begin(self, segment: OpenSegment) -> None:
        """A segment starts: its row and file come with the next flush."""
        key = (segment.stream, segment.start_ms)
        self.segments[key] = segment
        self.archive.writing.add(key)
        self._new.append(segment)

    def end(self, segment: OpenSegment, final: SegmentRow) -> None:
        """A segment is complete: its last bytes, rename and row come with the next flush."""
        segment.final = final
        self._ended.append(segment)

    async def attend(self, recorder: Any, period: float = LONGEST_TICK) -> None:
        """Serve ``recorder`` (anything with ``poll()`` and ``finished``) with every other
        recorder of the root until it is finished: every tick (at most ``period`` seconds,
        see :meth:`next_tick`) one pass takes and muxes what gathered in each member's
        subscription, then one flush hands it all to the disk. One member's task (the
        leader) sleeps between ticks and runs the pass; the others wait without waking up
        until they are finished or lead.

        The pass waits for a flush still running: a recorder lays its packets out in
        memory it reuses from one pass to the next (its
        :class:`~headwater.media.mpegts.packet_block.PacketArena`), which is free again
        only once the previous pass's bytes are written."""
        key = id(recorder)
        self.members[key] = recorder
        try:
            while not recorder.finished:
                if self._leader is None:
                    self._leader = key
                if self._leader == key:
                    await self._tick(period)
                else:
                    event = self._waiting[key] = anyio.Event()
                    await event.wait()
        finally:
            del self.members[key]
            self._waiting.pop(key, None)
            if self._leader == key:
                self._leader = None
            if self._leader is None:  # another member leads from now on (this one was
                for event in self._waiting.values():  # woken to, maybe, but is done)
                    event.set()
                    break

    def next_tick(self, longest: float = LONGEST_TICK) -> float:
        """Seconds until the next pass: as long as the latency budget allows, between
        ``FLUSH_SECONDS`` and ``longest``.

        A frame that arrives just after its recorder was polled is taken by the next pass
        and reaches the OS when that pass's flush is done: a tick plus that tick's lag
        (waking up, the pass, the write) after its arrival, which is what a ``kill -9``
        can lose. The lag grows with the tick (the pass muxes what gathered, the flush
        writes it), so the recent ticks predict it as a share of the tick (the largest
        ``lag / tick`` of the last ``LATENCY_TICKS``, which over-estimates a longer
        tick's lag by whatever part of it is fixed), and the tick is the longest for
        which tick + twice that lag stays within ``LATENCY_BUDGET``: long batches while
        the passes are quick (cheaper to mux: a tenth less CPU at 0.8 s than at 0.4 s),
        shorter ones as a loaded machine makes them slow, never shorter than
        ``FLUSH_SECONDS`` (more, smaller passes would only load it further). It starts
        at ``FLUSH_SECONDS`` and grows by ``TICK_GROWTH`` a tick at most, so a first
        pass with little to do (streams that just began) does not predict a long one."""
        shortest = min(FLUSH_SECONDS, longest)
        if not self.lags:
            return shortest
        share = max(lag / tick for tick, lag in self.lags)
        fitted = min(LATENCY_BUDGET / (1 + 2 * share), self.lags[-1][0] * TICK_GROWTH)
        return min(longest, max(shortest, fitted))

    async def _tick(self, longest: float) -> None:
        """Sleep until the next tick is due (:meth:`next_tick`), then run its pass."""
        now = time.monotonic()
        if now - self._due > IDLE_TICKS * longest:  # no pass for a while (no recorders):
            self.lags.clear()  # what the next ones take is not known, start short again
        tick = self.next_tick(longest)
        due = max(self._due + tick, now)  # an overrun: at once
        if self._due:  # frames gathered since the last tick (at most the longest tick)
            tick = min(max(tick, due - self._due), longest)
        self._due = due
        await anyio.sleep(due - now)
        with anyio.CancelScope(shield=True):  # frames taken are frames written
            async with self._lock:
                for key, recorder in list(self.members.items()):
                    recorder.poll()
                    if recorder.finished and key in self._waiting:
                        self._waiting.pop(key).set()
                await self._flush()
        self.lags.append((tick, time.monotonic() - due))

    async def pace(self, segment: OpenSegment | None) -> None:
        """Flush when one is due; wait for the disk when ``segment`` holds too much."""
        if segment is not None and segment.error is not None:
            raise segment.error
        due = time.monotonic() - self._last_flush >= FLUSH_SECONDS
        if segment is not None and segment.buffered >= MAX_BUFFERED:
            await self.flush()  # waits for a running flush first: back-pressure
        elif due and not self._lock.locked():
            await self.flush()

    # -- flushing -------------------------------------------------------------------------

    async def flush(self) -> None:
        """Hand everything buffered to the disk and the index (one worker-thread call)."""
        with anyio.CancelScope(shield=True):  # a batch taken is a batch written
            async with self._lock:
                await self._flush()

    async def _flush(self) -> None:
        """:meth:`flush` with the lock held."""
        batch = self._take()
        if batch is None:
            return
        started = time.monotonic()
        try:
            rows, totals = await self.archive.run(self._write, batch)
        finally:
            self._done(batch)
        self._timed(time.monotonic() - started, batch)
        await self.archive.refresh_many(self._apply(rows, totals))

    def _take(self) -> _Batch | None:
        now = time.monotonic()
        self._last_flush = now
        new, self._new = self._new, []
        ended, self._ended = self._ended, []
        writes = []
        for segment in self.segments.values():
            if segment.buffer:
                writes.append((segment, segment.buffer, segment.last_dts))
                segment.buffer = []
                segment.buffered = 0
        progress = bool(self.segments) and now - self._last_index >= INDEX_SECONDS
        if not (new or ended or writes or progress):
            return None
        if progress:
            self._last_index = now
        return _Batch(new, writes, ended, list(self.segments.values()), progress)

    def _timed(self, seconds: float, batch: _Batch) -> None:
        """Keep the slowest flush; warn (once a minute at most) when one takes so long that
        the ``kill -9`` promise of at most a second is at risk."""
        self.slowest = max(self.slowest, seconds)
        now = time.monotonic()
        if seconds >= SLOW_FLUSH_SECONDS and now - self._warned >= 60:
            self._warned = now
            size = sum(sum(map(len, chunks)) for _, chunks, _ in batch.writes)
            log.warning(
                "DVR %s: writing %d bytes of %d segments took %.2f s (disk or CPU behind)",
                self.archive.root,
                size,
                len(batch.open),
                seconds,
            )

    def _done(self, batch: _Batch) -> None:
        for segment in batch.ended:
            key = (segment.stream, segment.start_ms)
            self.segments.pop(key, None)
            self.archive.writing.discard(key)
            if segment.owner is not None:
                segment.owner.bytes_written += segment.written
        self.flushes += 1

    def _apply(self, rows: list[SegmentRow], totals: dict[str, tuple[int, int]]) -> list[str]:
        """Bring the archive's summaries up to date with the rows just committed; return
        the streams whose ranges must be read again (a row that was not at the end)."""
        by_stream: dict[str, list[SegmentRow]] = {}
        for row in rows:
            by_stream.setdefault(row.stream, []).append(row)
        stale = []
        for stream, (size, count) in totals.items():
            if not self.archive.extend_summary(stream, size, count, by_stream.get(stream, [])):
                stale.append(stream)
        return stale

    # -- the worker thread ----------------------------------------------------------------

    def _write(self, batch: _Batch) -> tuple[list[SegmentRow], dict[str, tuple[int, int]]]:
        """Rows of new segments, then the files, then the rows of what is on disk."""
        db = self.archive.db
        root = self.archive.root
        started = [s.row(0, s.first_dts) for s in batch.new]
        if started:
            db.put_many(started)
        for segment in batch.new:
            self._create(segment, os.path.join(root, segment.path))
        self._write_files([w for w in batch.writes if w[0].fd >= 0])
        rows: list[SegmentRow] = []
        for segment in batch.ended:
            if segment.fd < 0 or segment.final is None:
                continue
            try:
                os.close(segment.fd)
                segment.fd = -1
                os.replace(os.path.join(root, segment.path), os.path.join(root, segment.final.path))
            except OSError as exc:
                self._fail(segment, exc)
                continue
            final = segment.final
            if final.bytes != segment.written:  # the bytes on disk are the measure
                final = segment.final = replace(final, bytes=segment.written)
            rows.append(final)
        progress = []
        if batch.progress:
            for segment in batch.open:
                if segment.fd >= 0 and segment.final is None:
                    progress.append(segment.row(segment.written, segment.flushed_dts))
        if not (progress or rows or started):
            return [], {}
        totals = db.commit(progress, rows, {r.stream for r in started})
        return started + progress + rows, totals

    def _write_files(self, writes: list[tuple[OpenSegment, list[bytes], int]]) -> None:
        for segment, chunks, last_dts in writes:
            try:
                written = write_all(segment.fd, chunks)
            except OSError as exc:
                self._fail(segment, exc)
                continue
            segment.written += written
            segment.flushed_dts = last_dts

    def _create(self, segment: OpenSegment, path: str) -> None:
        folder = os.path.dirname(path)
        try:
            if folder not in self._dirs:
                os.makedirs(folder, exist_ok=True)
                if len(self._dirs) >= MAX_DIRS:
                    self._dirs.clear()
                self._dirs.add(folder)
            try:
                segment.fd = os.open(path, _OPEN_FLAGS, 0o644)
            except FileNotFoundError:  # retention removed the (empty) directory since
                os.makedirs(folder, exist_ok=True)
                segment.fd = os.open(path, _OPEN_FLAGS, 0o644)
        except OSError as exc:
            self._fail(segment, exc)

    def _fail(self, segment: OpenSegment, exc: OSError) -> None:
        if segment.error is None:
            log.error("DVR %s: cannot write %s: %s", self.archive.root, segment.path, exc)
        segment.error = exc
        if segment.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(segment.fd)
            segment.fd = -1

    def close_all(self) -> None:
        """Close every file left open (blocking; at shutdown, after the last flush)."""
        for segment in self.segments.values():
            if segment.fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(segment.fd)
                segment.fd = -1


def write_all(fd: int, chunks: list[bytes]) -> int:
    """Hand ``chunks`` to the OS in order, in one ``writev`` as a rule (no copy to join
    them); return the bytes written. Blocking: the writer's thread calls it."""
    total = sum(map(len, chunks))
    done = 0
    if len(chunks) == 1:
        rest = memoryview(chunks[0])
    elif len(chunks) <= IOV_MAX:
        done = os.writev(fd, chunks)
        if done == total:
            return total
        rest = memoryview(b"".join(chunks))[done:]
    else:
        rest = memoryview(b"".join(chunks))
    while rest:  # what a short write left
        rest = rest[os.write(fd, rest) :]
    return total
