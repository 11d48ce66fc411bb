"""The archive index of one DVR root: an SQLite database (stdlib ``sqlite3``, WAL).

One row per segment, keyed by ``(stream, start_ms)`` so every time query is an index
seek (O(log n)) however long the archive; a ``ranges`` table keeps each stream's
contiguous recordings up to date as segments are added and removed, and a ``totals``
table its byte count, so the ranges API and ``dvr_info`` never scan the segments.

This class is synchronous and thread-safe (one connection, one lock): the event loop
reaches it through :class:`headwater_dvr.archive.Archive`, which runs every call in a
worker thread. A missing or damaged database is rebuilt from the file names alone (see
:mod:`headwater_dvr.layout`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from headwater_dvr.layout import parse_path

log = logging.getLogger("headwater.dvr")

INDEX_FILE = "@dvr-index.sqlite3"
"""The database file under the root ('@' cannot start a stream name, so no name collides)."""

GAP_MS = 1000
"""Segments further apart than this belong to different ranges."""

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    stream TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    path TEXT NOT NULL,
    keyframes INTEGER NOT NULL DEFAULT 0,
    discontinuity INTEGER NOT NULL DEFAULT 0,
    complete INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (stream, start_ms)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS segments_open ON segments (complete) WHERE complete = 0;
CREATE TABLE IF NOT EXISTS ranges (
    stream TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    PRIMARY KEY (stream, start_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS totals (
    stream TEXT PRIMARY KEY,
    bytes INTEGER NOT NULL,
    segments INTEGER NOT NULL
);
"""

_CHUNK = 500
"""Rows per set-based statement (five parameters each, well under SQLite's limit)."""

_COLUMNS = "stream, start_ms, duration_ms, bytes, path, keyframes, discontinuity, complete"


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """One segment as the index knows it (``path`` is relative to the root)."""

    stream: str
    start_ms: int
    duration_ms: int
    bytes: int
    path: str
    keyframes: int = 0
    discontinuity: bool = False
    complete: bool = True

    @property
    def end_ms(self) -> int:
        """Where the segment ends (UTC milliseconds)."""
        return self.start_ms + self.duration_ms


def _row(values: tuple) -> SegmentRow:
    s, start, dur, size, path, keys, disc, complete = values
    return SegmentRow(s, start, dur, size, path, keys, bool(disc), bool(complete))


class IndexDamaged(Exception):
    """The database file exists but cannot be used (it will be rebuilt)."""


class ArchiveIndex:
    """The SQLite index of one DVR root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / INDEX_FILE
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            check = self._db.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise IndexDamaged(f"integrity check failed: {check}")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise IndexDamaged(str(exc)) from exc
        except IndexDamaged:
            self._close_quietly()
            raise

    def _close_quietly(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    @classmethod
    def open(cls, root: Path) -> ArchiveIndex:
        """Open the index of ``root``; rebuild it from the files when missing or damaged."""
        root.mkdir(parents=True, exist_ok=True)
        existed = (root / INDEX_FILE).exists()
        try:
            index = cls(root)
        except IndexDamaged as exc:
            aside = root / f"{INDEX_FILE}.damaged-{int(time.time())}"
            log.warning("DVR index %s is damaged (%s); moved to %s", root / INDEX_FILE, exc, aside)
            os.replace(root / INDEX_FILE, aside)
            for extra in ("-wal", "-shm"):
                (root / f"{INDEX_FILE}{extra}").unlink(missing_ok=True)
            index = cls(root)
            existed = False
        if not existed:
            count = index.rebuild()
            if count:
                log.warning("DVR index of %s was missing: rebuilt from %d files", root, count)
        return index

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # -- rebuilding from the files --------------------------------------------------------

    def rebuild(self) -> int:
        """Index every segment file under the root (by name only); return how many."""
        rows: list[SegmentRow] = []
        for relative, size in _walk(self.root):
            parsed = parse_path(relative)
            if parsed is None:
                continue
            complete = parsed.duration_ms is not None
            rows.append(
                SegmentRow(
                    parsed.stream,
                    parsed.start_ms,
                    parsed.duration_ms or 0,
                    size,
                    relative,
                    complete=complete,
                )
            )
        rows.sort(key=lambda r: (r.stream, r.start_ms))
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM segments")
            self._db.execute("DELETE FROM ranges")
            self._db.execute("DELETE FROM totals")
            for row in rows:
                self._put(row)
        return len(rows)

    # -- writing --------------------------------------------------------------------------

    def put(self, row: SegmentRow) -> None:
        """Add or update one segment (its range and the stream's totals follow)."""
        self.put_many([row])

    def put_many(self, rows: Iterable[SegmentRow]) -> None:
        """Add or update segments in one transaction (one commit for many recorders)."""
        with self._lock, self._transaction():
            for row in rows:
                self._put(row)

    def commit(
        self, progress: list[SegmentRow], rows: list[SegmentRow], more: Iterable[str] = ()
    ) -> dict[str, tuple[int, int]]:
        """One transaction for a flush of the segment writer: ``progress`` of segments
        being written (each already indexed, incomplete) and ``rows`` put as :meth:`put`
        does; return ``(bytes, segments)`` of every stream touched and of ``more``.

        The progress goes in a few set-based statements whatever the number of streams,
        not a handful per row: each statement gives the GIL up and takes it back, which
        costs a switch interval when the event loop is busy.
        """
        with self._lock, self._transaction():
            for start in range(0, len(progress), _CHUNK):
                self._advance(progress[start : start + _CHUNK])
            for row in rows:
                self._put(row)
            streams = json.dumps(sorted({r.stream for r in (*progress, *rows)}.union(more)))
            found = self._db.execute(
                "SELECT json_group_object(stream, json_array(bytes, segments)) FROM totals "
                "WHERE stream IN (SELECT value FROM json_each(?))",
                (streams,),
            ).fetchone()[0]
        return {k: (v[0], v[1]) for k, v in json.loads(found or "{}").items()}

    def _advance(self, rows: list[SegmentRow]) -> None:
        db = self._db
        values = ", ".join(["(?, ?, ?, ?, ?)"] * len(rows))
        params = [
            x for r in rows for x in (r.stream, r.start_ms, r.duration_ms, r.bytes, r.keyframes)
        ]
        db.execute(
            "UPDATE totals SET bytes = totals.bytes + v.delta FROM (SELECT s.stream AS stream, "
            "SUM(p.column4 - s.bytes) AS delta FROM (VALUES " + values + ") AS p "
            "JOIN segments AS s ON s.stream = p.column1 AND s.start_ms = p.column2 "
            "AND s.complete = 0 GROUP BY s.stream) AS v WHERE totals.stream = v.stream",
            params,
        )
        db.execute(
            "UPDATE segments SET duration_ms = p.column3, bytes = p.column4, "
            "keyframes = p.column5 FROM (VALUES " + values + ") AS p "
            "WHERE segments.stream = p.column1 AND segments.start_ms = p.column2 "
            "AND segments.complete = 0",
            params,
        )
        # the range holding each segment's start grows to its end
        extended = db.execute(
            "UPDATE ranges SET end_ms = MAX(ranges.end_ms, p.column2 + p.column3) "
            "FROM (VALUES " + values + ") AS p WHERE ranges.stream = p.column1 "
            "AND ranges.start_ms <= p.column2 AND ranges.end_ms >= p.column2",
            params,
        ).rowcount
        # rarely, it now reaches the next range (or none held the start): the general way
        joined = db.execute(
            "SELECT COUNT(*) FROM ranges AS a JOIN ranges AS b ON b.stream = a.stream "
            "AND b.start_ms > a.start_ms AND b.start_ms <= a.end_ms + ? "
            "WHERE a.stream IN (SELECT column1 FROM (VALUES " + values + "))",
            [GAP_MS, *params],
        ).fetchone()[0]
        if joined or extended < len({r.stream for r in rows}):
            for row in rows:
                self._extend_range(row.stream, row.start_ms, row.end_ms)

    def _put(self, row: SegmentRow) -> None:
        db = self._db
        old = db.execute(
            "SELECT bytes FROM segments WHERE stream = ? AND start_ms = ?",
            (row.stream, row.start_ms),
        ).fetchone()
        db.execute(
            f"INSERT OR REPLACE INTO segments ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.stream,
                row.start_ms,
                row.duration_ms,
                row.bytes,
                row.path,
                row.keyframes,
                int(row.discontinuity),
                int(row.complete),
            ),
        )
        added = row.bytes - (old[0] if old else 0)
        db.execute(
            "INSERT INTO totals VALUES (?, ?, ?) ON CONFLICT (stream) DO UPDATE SET "
            "bytes = bytes + excluded.bytes, segments = segments + excluded.segments",
            (row.stream, added, 0 if old else 1),
        )
        self._extend_range(row.stream, row.start_ms, row.end_ms)

    def _extend_range(self, stream: str, start: int, end: int) -> None:
        db = self._db
        before = db.execute(
            "SELECT start_ms, end_ms FROM ranges WHERE stream = ? AND start_ms <= ? "
            "ORDER BY start_ms DESC LIMIT 1",
            (stream, start),
        ).fetchone()
        if before is not None and before[1] + GAP_MS >= start:
            start, end = before[0], max(before[1], end)
            db.execute(
                "UPDATE ranges SET end_ms = ? WHERE stream = ? AND start_ms = ?",
                (end, stream, start),
            )
        else:
            db.execute("INSERT INTO ranges VALUES (?, ?, ?)", (stream, start, end))
        # a segment filling a gap joins the following range(s)
        for nxt_start, nxt_end in db.execute(
            "SELECT start_ms, end_ms FROM ranges WHERE stream = ? AND start_ms > ? "
            "AND start_ms <= ? ORDER BY start_ms",
            (stream, start, end + GAP_MS),
        ).fetchall():
            end = max(end, nxt_end)
            db.execute("DELETE FROM ranges WHERE stream = ? AND start_ms = ?", (stream, nxt_start))
            db.execute(
                "UPDATE ranges SET end_ms = ? WHERE stream = ? AND start_ms = ?",
                (end, stream, start),
            )

    def remove(self, rows: Iterable[SegmentRow]) -> None:
        """Forget segments (after their files were deleted); ranges and totals follow."""
        by_stream: dict[str, list[SegmentRow]] = {}
        for row in rows:
            by_stream.setdefault(row.stream, []).append(row)
        with self._lock, self._transaction():
            for stream, removed in by_stream.items():
                self._remove(stream, removed)

    def _remove(self, stream: str, removed: list[SegmentRow]) -> None:
        db = self._db
        gone_bytes = 0
        gone = 0
        for row in removed:
            cur = db.execute(
                "DELETE FROM segments WHERE stream = ? AND start_ms = ? RETURNING bytes",
                (stream, row.start_ms),
            ).fetchone()
            if cur is not None:
                gone_bytes += cur[0]
                gone += 1
        db.execute(
            "UPDATE totals SET bytes = bytes - ?, segments = segments - ? WHERE stream = ?",
            (gone_bytes, gone, stream),
        )
        db.execute("DELETE FROM totals WHERE stream = ? AND segments <= 0", (stream,))
        lo = min(r.start_ms for r in removed)
        hi = max(r.end_ms for r in removed)
        first = db.execute(
            "SELECT MIN(start_ms) FROM segments WHERE stream = ?", (stream,)
        ).fetchone()[0]
        if first is None:
            db.execute("DELETE FROM ranges WHERE stream = ?", (stream,))
            return
        if max(r.start_ms for r in removed) < first:  # the oldest were removed (retention)
            db.execute("DELETE FROM ranges WHERE stream = ? AND end_ms <= ?", (stream, first))
            db.execute(
                "UPDATE ranges SET start_ms = ? WHERE stream = ? AND start_ms < ?",
                (first, stream, first),
            )
            return
        # anything else: rebuild the ranges the removed segments touched
        touched = db.execute(
            "SELECT MIN(start_ms), MAX(end_ms) FROM ranges WHERE stream = ? "
            "AND start_ms <= ? AND end_ms >= ?",
            (stream, hi, lo),
        ).fetchone()
        a = min(lo, touched[0]) if touched[0] is not None else lo
        b = max(hi, touched[1]) if touched[1] is not None else hi
        db.execute(
            "DELETE FROM ranges WHERE stream = ? AND start_ms <= ? AND end_ms >= ?",
            (stream, b, a),
        )
        for start, dur in db.execute(
            "SELECT start_ms, duration_ms FROM segments WHERE stream = ? "
            "AND start_ms >= ? AND start_ms <= ? ORDER BY start_ms",
            (stream, a, b),
        ).fetchall():
            self._extend_range(stream, start, start + dur)

    # -- reading --------------------------------------------------------------------------

    def segments(
        self, stream: str, lo_ms: int, hi_ms: int, *, complete_only: bool = True
    ) -> list[SegmentRow]:
        """Segments of ``stream`` overlapping ``[lo_ms, hi_ms)``, oldest first."""
        done = " AND complete = 1" if complete_only else ""
        with self._lock:
            # the segment running into lo_ms starts before it: seek to it, then scan forwards
            head = self._db.execute(
                f"SELECT {_COLUMNS} FROM segments WHERE stream = ? AND start_ms < ?{done} "
                "ORDER BY start_ms DESC LIMIT 1",
                (stream, lo_ms),
            ).fetchone()
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM segments WHERE stream = ? AND start_ms >= ? "
                f"AND start_ms < ?{done} ORDER BY start_ms",
                (stream, lo_ms, hi_ms),
            ).fetchall()
        found = [_row(r) for r in rows]
        if head is not None and head[1] + head[2] > lo_ms:
            found.insert(0, _row(head))
        return found

    def segment(self, stream: str, start_ms: int) -> SegmentRow | None:
        """The segment of ``stream`` starting at ``start_ms``."""
        with self._lock:
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM segments WHERE stream = ? AND start_ms = ?",
                (stream, start_ms),
            ).fetchone()
        return _row(found) if found else None

    def ranges(self, stream: str) -> list[tuple[int, int]]:
        """The contiguous recordings of ``stream`` as ``(start_ms, end_ms)``, oldest first."""
        with self._lock:
            return self._db.execute(
                "SELECT start_ms, end_ms FROM ranges WHERE stream = ? ORDER BY start_ms",
                (stream,),
            ).fetchall()

    def totals(self, stream: str) -> tuple[int, int]:
        """``(bytes, segments)`` of ``stream``'s archive."""
        with self._lock:
            found = self._db.execute(
                "SELECT bytes, segments FROM totals WHERE stream = ?", (stream,)
            ).fetchone()
        return (found[0], found[1]) if found else (0, 0)

    def streams(self) -> list[str]:
        """Every stream with an archive under this root."""
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT stream FROM totals ORDER BY stream")]

    def open_rows(self) -> list[SegmentRow]:
        """Segments still marked as being written (after a crash: to recover)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM segments WHERE complete = 0"
            ).fetchall()
        return [_row(r) for r in rows]

    def oldest(self, stream: str, limit: int, before_ms: int | None = None) -> list[SegmentRow]:
        """Up to ``limit`` complete segments of ``stream``, oldest first.

        ``before_ms`` keeps only those that end before it.
        """
        sql = f"SELECT {_COLUMNS} FROM segments WHERE stream = ? AND complete = 1"
        params: list[object] = [stream]
        if before_ms is not None:
            sql += " AND start_ms < ? AND start_ms + duration_ms <= ?"
            params += [before_ms, before_ms]
        sql += " ORDER BY start_ms LIMIT ?"
        params.append(limit)
        with self._lock:
            return [_row(r) for r in self._db.execute(sql, params).fetchall()]

    # -- helpers --------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on an exception)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _walk(root: Path) -> Iterator[tuple[str, int]]:
    """``(path relative to root, size)`` of every file under ``root`` except the index."""
    for folder, _dirs, files in os.walk(root):
        for file in files:
            if file.startswith(INDEX_FILE):
                continue
            full = Path(folder) / file
            try:
                size = full.stat().st_size
            except OSError:
                continue
            yield full.relative_to(root).as_posix(), size
