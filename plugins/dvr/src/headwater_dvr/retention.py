"""Retention: delete whole segments, oldest first, by age, by size and by disk usage.

One sweep of one root applies, for every stream with an archive there (live or long
gone), the ``dvr`` settings that match its name today:

- ``expiration``: segments that ended more than that long ago go;
- ``storage_limit``: while the stream's archive is larger, its oldest segments go;
- ``disk_usage_limit``: while the root's file system is fuller than a stream's
  percentage, the oldest segments of all streams with such a limit go (Flussonic's rule:
  the limit is about the whole disk, not one stream).

A segment being written is never deleted, nor one whose stream no longer matches any
``dvr`` setting (its archive is kept until an operator removes it). Each deletion is
logged at debug, each sweep that deleted something with one info line. The clock and the
disk-usage probe are parameters, so tests drive every rule without waiting or filling
a disk.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from headwater import DVRSettings
from headwater_dvr.archive import Archive
from headwater_dvr.index import SegmentRow

log = logging.getLogger("headwater.dvr")

BATCH = 500
"""Segments fetched per query while sweeping."""
MAX_ROUNDS = 1000
"""Bound on the batches of one rule in one sweep (the next sweep continues)."""


class DiskUsage(NamedTuple):
    """Total and used bytes of a file system (what :func:`shutil.disk_usage` returns)."""

    total: int
    used: int
    free: int


@dataclass(slots=True)
class SweepReport:
    """What one sweep deleted, by rule."""

    segments: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)

    def add(self, rule: str, deleted: tuple[int, int]) -> None:
        """Count ``(segments, bytes)`` deleted under ``rule``."""
        self.segments[rule] = self.segments.get(rule, 0) + deleted[0]
        self.bytes[rule] = self.bytes.get(rule, 0) + deleted[1]

    @property
    def total(self) -> int:
        """Segments deleted in all."""
        return sum(self.segments.values())


async def sweep(
    archive: Archive,
    settings_of: Callable[[str], DVRSettings | None],
    now: float,
    disk_usage: Callable[[str], DiskUsage] = shutil.disk_usage,  # type: ignore[assignment]
) -> SweepReport:
    """Apply every retention rule to ``archive`` once; ``now`` is UTC seconds."""
    report = SweepReport()
    policies = {}
    for stream in list(archive.summaries):
        dvr = settings_of(stream)
        if dvr is not None:
            policies[stream] = dvr
    for stream, dvr in policies.items():
        if dvr.expiration is not None:
            await _by_age(archive, stream, int((now - dvr.expiration) * 1000), report)
        if dvr.storage_limit is not None:
            await _by_size(archive, stream, dvr.storage_limit, report)
    limited = {s: d.disk_usage_limit for s, d in policies.items() if d.disk_usage_limit}
    if limited:
        await _by_disk(archive, limited, disk_usage, report)  # type: ignore[arg-type]
    if report.total:
        parts = [
            f"{rule}: {report.segments[rule]} segments, {report.bytes[rule]} bytes"
            for rule in report.segments
        ]
        log.info("DVR %s: retention deleted %s", archive.root, "; ".join(parts))
    return report


async def _by_age(archive: Archive, stream: str, before_ms: int, report: SweepReport) -> None:
    for _ in range(MAX_ROUNDS):
        rows = await archive.run(archive.db.oldest, stream, BATCH, before_ms)
        if not rows:
            return
        report.add("expiration", await archive.delete(rows))
        if len(rows) < BATCH:
            return


async def _by_size(archive: Archive, stream: str, limit: int, report: SweepReport) -> None:
    for _ in range(MAX_ROUNDS):
        summary = archive.summaries.get(stream)
        if summary is None or summary.bytes <= limit:
            return
        excess = summary.bytes - limit
        rows = await archive.run(archive.db.oldest, stream, BATCH)
        chosen: list[SegmentRow] = []
        for row in rows:
            if excess <= 0:
                break
            chosen.append(row)
            excess -= row.bytes
        if not chosen:
            return
        report.add("storage_limit", await archive.delete(chosen))


async def _by_disk(
    archive: Archive,
    limits: dict[str, float],
    disk_usage: Callable[[str], DiskUsage],
    report: SweepReport,
) -> None:
    for _ in range(MAX_ROUNDS):
        usage = await archive.run(disk_usage, str(archive.root))
        if not usage.total:
            return
        percent = usage.used * 100 / usage.total
        over = {s: lim for s, lim in limits.items() if percent > lim}
        if not over:
            return
        need = usage.used - min(over.values()) * usage.total / 100
        rows = []
        for stream in over:
            rows += await archive.run(archive.db.oldest, stream, BATCH)
        rows.sort(key=lambda r: r.start_ms)
        chosen: list[SegmentRow] = []
        for row in rows:
            if need <= 0:
                break
            chosen.append(row)
            need -= row.bytes
        if not chosen:
            return
        report.add("disk_usage_limit", await archive.delete(chosen))
