"""DVR index queries on a long archive: a year of 4 s segments of one stream (issue 10).

No server: an index (:class:`headwater_dvr.index.ArchiveIndex`) is filled in bulk with
``--days`` of contiguous 4 s segments (one gap a day, so one range a day), then each query
the server makes is timed, mean of ``--queries`` runs at random points: the segments of a
1-hour window (an archive playlist), one segment by its start (a segment request), the
ranges list (the ranges API), the oldest segments (a retention sweep). Goal: O(log n), i.e.
well under a millisecond whatever the archive's length.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from headwater_dvr.index import ArchiveIndex, SegmentRow
from headwater_dvr.layout import final_path

STREAM = "bench/cam"
SEGMENT_MS = 4000
DAY_MS = 86_400_000
T0 = 1_764_547_200_000  # 2025-12-01 UTC


def fill(index: ArchiveIndex, days: int) -> int:
    """Bulk-insert ``days`` of 4 s segments (a 4 s gap at each day's end); return the count."""
    per_day = DAY_MS // SEGMENT_MS - 1
    db = index._db  # bulk load: one transaction, no per-row range upkeep
    db.execute("BEGIN")
    count = 0
    for day in range(days):
        base = T0 + day * DAY_MS
        rows = [
            (STREAM, start, SEGMENT_MS, 500_000, final_path(STREAM, start, SEGMENT_MS), 1, 0, 1)
            for start in range(base, base + per_day * SEGMENT_MS, SEGMENT_MS)
        ]
        db.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute(
            "INSERT INTO ranges VALUES (?, ?, ?)", (STREAM, base, base + per_day * SEGMENT_MS)
        )
        count += len(rows)
    db.execute("INSERT INTO totals VALUES (?, ?, ?)", (STREAM, count * 500_000, count))
    db.execute("COMMIT")
    return count


def timed(queries: int, call) -> float:
    """Mean wall-clock microseconds of ``call(i)``."""
    start = time.perf_counter()
    for i in range(queries):
        call(i)
    return (time.perf_counter() - start) / queries * 1e6


class DvrIndex:
    """The archive index's queries on a year of segments."""

    name = "dvr_index"
    summary = "DVR index: query times on a year of 4 s segments of one stream, no server"
    all_argv: tuple[str, ...] = ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Archive length and number of timed queries."""
        parser.add_argument("--days", type=int, default=365, help="archive length in days")
        parser.add_argument("--queries", type=int, default=2000, help="timed runs per query")
        parser.add_argument("--dir", type=Path, help="where the index is built (a temp dir)")

    def run(self, args: argparse.Namespace) -> dict[str, float]:
        """Build, time, print; return the figures (µs per query)."""
        print(f"\n### {self.name}: {self.summary}\n", flush=True)
        with tempfile.TemporaryDirectory(prefix="headwater-dvr-index-", dir=args.dir) as tmp:
            root = Path(tmp)
            index = ArchiveIndex.open(root)
            started = time.perf_counter()
            count = fill(index, args.days)
            built = time.perf_counter() - started
            size = sum(p.stat().st_size for p in root.iterdir())
            span = args.days * DAY_MS
            rnd = random.Random(1)
            points = [T0 + rnd.randrange(span - 3_600_000) for _ in range(args.queries)]
            starts = [T0 + (p - T0) // SEGMENT_MS * SEGMENT_MS for p in points]
            figures = {
                "1-hour window (playlist)": timed(
                    args.queries, lambda i: index.segments(STREAM, points[i], points[i] + 3_600_000)
                ),
                "one segment by start": timed(
                    args.queries, lambda i: index.segment(STREAM, starts[i])
                ),
                f"ranges list ({args.days} ranges)": timed(
                    min(args.queries, 200), lambda i: index.ranges(STREAM)
                ),
                "oldest 500 (retention)": timed(
                    min(args.queries, 200), lambda i: index.oldest(STREAM, 500)
                ),
                "add a segment (recorder)": timed(
                    min(args.queries, 500),
                    lambda i: index.put(
                        SegmentRow(STREAM, T0 + span + i * SEGMENT_MS, SEGMENT_MS, 1, "x")
                    ),
                ),
            }
            index.close()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"- {count} segments ({args.days} days), built in {built:.1f} s, "
              f"index {size / 1e6:.0f} MB; load {load}\n")  # fmt: skip
        print("| query | µs (mean) |\n|---|---|")
        for label, micros in figures.items():
            print(f"| {label} | {micros:.0f} |")
        return figures


SCENARIO = DvrIndex()
