"""One DVR root as the event loop sees it: the index off the loop, recovery, a summary cache.

Every SQLite call and every file-system walk runs in a worker thread (one at a time per
root, through a capacity limiter), so a slow disk never stalls the loop that serves the
publishers. Opening a root recovers the segments a crash left half-written before anyone
records into it. A small in-memory summary per stream (ranges, bytes) answers
``stats.dvr_info`` without touching the database.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio

from headwater_dvr.index import GAP_MS, ArchiveIndex, SegmentRow
from headwater_dvr.layout import PART_SUFFIX, final_path, parse_path
from headwater_dvr.recovery import recover_file
from headwater_dvr.writer import SegmentWriter

log = logging.getLogger("headwater.dvr")
T = TypeVar("T")


@dataclass(slots=True)
class StreamSummary:
    """What ``stats.dvr_info`` shows of one stream's archive."""

    ranges: list[tuple[int, int]] = field(default_factory=list)
    bytes: int = 0
    segments: int = 0

    def describe(self) -> dict[str, Any]:
        """Flussonic's ``dvr_info``: ``from``, ``depth``, ``duration``, ``bytes``, ``ranges``."""
        if not self.ranges:
            return {"from": 0, "depth": 0, "duration": 0, "bytes": self.bytes, "ranges": []}
        first, last = self.ranges[0][0], self.ranges[-1][1]
        return {
            "from": first // 1000,
            "depth": (last - first) // 1000,
            "duration": sum(e - s for s, e in self.ranges) // 1000,
            "bytes": self.bytes,
            "ranges": range_list(self.ranges),
        }


def range_list(ranges: list[tuple[int, int]]) -> list[dict[str, int]]:
    """Ranges in Flussonic's whole seconds: ``from`` rounded down, the end rounded up."""
    out = []
    for start_ms, end_ms in ranges:
        start = start_ms // 1000
        out.append({"from": start, "duration": max(1, -(-end_ms // 1000) - start)})
    return out


class Archive:
    """The archive under one root: call :meth:`open` once, then read and write through it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index: ArchiveIndex | None = None
        self.summaries: dict[str, StreamSummary] = {}
        self.writing: set[tuple[str, int]] = set()
        """``(stream, start_ms)`` of segments being written now (never swept)."""
        self.writer = SegmentWriter(self)
        """Writes every recorder's segments in batches (files and index rows)."""
        self._limiter = anyio.CapacityLimiter(1)
        self._pending: dict[tuple[str, int], SegmentRow] = {}
        self._commit_lock = anyio.Lock()

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (SQLite, file system) in this root's worker thread."""
        return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)

    @property
    def db(self) -> ArchiveIndex:
        """The open index."""
        if self.index is None:
            raise RuntimeError(f"the archive {self.root} is not open")
        return self.index

    async def open(self) -> None:
        """Open (or rebuild) the index and recover half-written segments."""
        self.index = await self.run(ArchiveIndex.open, self.root)
        recovered = await self.run(self._recover_all)
        if recovered:
            log.info("DVR %s: recovered %d interrupted segment(s)", self.root, recovered)
        await self.refresh_many(await self.run(self.db.streams))
        log.info("DVR archive %s open: %d stream(s)", self.root, len(self.summaries))

    async def close(self) -> None:
        """Write what the recorders left buffered, then close the files and the index."""
        if self.index is not None:
            await self.writer.flush()
            await self.run(self.writer.close_all)
            await self.run(self.index.close)
            self.index = None

    def _recover_all(self) -> int:
        count = 0
        for row in self.db.open_rows():
            self.recover(row)
            count += 1
        return count

    def recover(self, row: SegmentRow) -> SegmentRow | None:
        """Finish a segment a crash left open: measure, rename, index (blocking)."""
        part = self.root / row.path
        if not part.exists():
            adopted = self._adopt_renamed(row)
            if adopted is not None:
                return adopted
        found = recover_file(part) if part.exists() else None
        if found is None:
            part.unlink(missing_ok=True)
            self.db.remove([row])
            log.info("DVR %s: dropped the empty interrupted segment %s", self.root, row.path)
            return None
        relative = final_path(row.stream, row.start_ms, found.duration_ms)
        os.replace(part, self.root / relative)
        done = SegmentRow(
            row.stream,
            row.start_ms,
            found.duration_ms,
            found.bytes,
            relative,
            found.keyframes,
            row.discontinuity,
            True,
        )
        self.db.put(done)
        log.info(
            "DVR %s: recovered %s (%d ms, %d bytes)",
            self.root,
            relative,
            found.duration_ms,
            found.bytes,
        )
        return done

    def _adopt_renamed(self, row: SegmentRow) -> SegmentRow | None:
        """The segment was complete and renamed, but its row not yet committed: adopt it."""
        part = self.root / row.path
        stem = part.name.removesuffix(".ts" + PART_SUFFIX)
        for candidate in part.parent.glob(f"{stem}-*.ts") if part.parent.is_dir() else ():
            relative = candidate.relative_to(self.root).as_posix()
            parsed = parse_path(relative)
            if parsed is None or parsed.duration_ms is None or parsed.start_ms != row.start_ms:
                continue
            found = recover_file(candidate)
            done = SegmentRow(
                row.stream,
                row.start_ms,
                parsed.duration_ms,
                candidate.stat().st_size,
                relative,
                found.keyframes if found else 0,
                row.discontinuity,
                True,
            )
            self.db.put(done)
            log.info("DVR %s: indexed the completed segment %s", self.root, relative)
            return done
        return None

    async def refresh(self, stream: str) -> StreamSummary:
        """Re-read one stream's ranges and totals into the summary cache."""
        summary = await self.run(self._read_summary, stream)
        self._cache(stream, summary)
        return summary

    async def refresh_many(self, streams: Iterable[str]) -> None:
        """:meth:`refresh` for many streams in one worker-thread call (each call waits for
        the thread, and for the event loop to hand the GIL over when it is busy)."""
        streams = list(streams)
        if streams:
            summaries = await self.run(lambda: [self._read_summary(s) for s in streams])
            for stream, summary in zip(streams, summaries, strict=True):
                self._cache(stream, summary)

    async def put(self, row: SegmentRow) -> None:
        """Index a segment (or the progress of the one being written); return once committed.

        Group commit: rows put while a commit is running wait for the next one, which
        writes all of them in one transaction and one worker-thread call, so sixty
        recorders cost a few commits a second, not sixty round trips each.
        """
        self._pending[(row.stream, row.start_ms)] = row
        async with self._commit_lock:
            if not self._pending:
                return  # an earlier commit took our row
            rows = list(self._pending.values())
            self._pending.clear()
            summaries = await self.run(self._write, rows)
        for stream, summary in summaries.items():
            self._cache(stream, summary)

    def extend_summary(self, stream: str, size: int, segments: int, rows: list[SegmentRow]) -> bool:
        """Update ``stream``'s cached summary after ``rows`` were committed (no I/O).

        ``size`` and ``segments`` are the stream's totals read in the same thread call.
        Rows at the end of the archive (a recording growing) extend or add its last range
        here; anything else returns False: the caller re-reads the ranges with
        :meth:`refresh`.
        """
        old = self.summaries.get(stream)
        ranges = list(old.ranges) if old is not None else []
        # a new stream's rows (a segment's may come twice: started, then its progress)
        exact = old is not None or not segments or len({r.start_ms for r in rows}) == segments
        for row in sorted(rows, key=lambda r: r.start_ms):
            if ranges and ranges[-1][0] <= row.start_ms <= ranges[-1][1] + GAP_MS:
                ranges[-1] = (ranges[-1][0], max(ranges[-1][1], row.end_ms))
            elif not ranges or row.start_ms > ranges[-1][1] + GAP_MS:
                ranges.append((row.start_ms, row.end_ms))
            else:
                exact = False
        self._cache(stream, StreamSummary(ranges, size, segments))
        return exact

    def _write(self, rows: list[SegmentRow]) -> dict[str, StreamSummary]:
        db = self.db
        db.put_many(rows)
        return {s: self._read_summary(s) for s in {r.stream for r in rows}}

    def _read_summary(self, stream: str) -> StreamSummary:
        size, count = self.db.totals(stream)
        return StreamSummary(self.db.ranges(stream), size, count)

    def _cache(self, stream: str, summary: StreamSummary) -> None:
        if summary.segments:
            self.summaries[stream] = summary
        else:
            self.summaries.pop(stream, None)

    async def delete(self, rows: list[SegmentRow]) -> tuple[int, int]:
        """Delete segments' files and rows (never one being written): ``(segments, bytes)``."""
        rows = [r for r in rows if (r.stream, r.start_ms) not in self.writing]
        if not rows:
            return 0, 0
        freed = await self.run(self._delete_files, rows)
        await self.refresh_many({r.stream for r in rows})
        return len(rows), freed

    def _delete_files(self, rows: list[SegmentRow]) -> int:
        freed = 0
        for row in rows:
            path = self.root / row.path
            path.unlink(missing_ok=True)
            freed += row.bytes
            log.debug("DVR %s: deleted %s", self.root, row.path)
            self._prune_dirs(path.parent)
        self.db.remove(rows)
        return freed

    def _prune_dirs(self, folder: Path) -> None:
        """Remove empty directories from ``folder`` up to (not including) the root."""
        root = self.root.resolve()
        folder = folder.resolve()
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent


def is_part(path: str) -> bool:
    """True for a segment still being written."""
    return path.endswith(PART_SUFFIX)
