"""The DVR service of one server: its archives (one per root) and the retention schedule.

The core runs it like a listener (it binds nothing): at start it opens the archive of
every configured ``dvr`` root, which rebuilds a missing index and recovers the segments
a crash left half-written, and then sweeps every root on a schedule, or at once when a
recorder reports that a stream passed its ``storage_limit``.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus

from headwater import DVRSettings
from headwater_dvr.archive import Archive
from headwater_dvr.retention import DiskUsage, sweep
from headwater_dvr.settings import SWEEP_INTERVAL, configured, dvr_for, root_path

if TYPE_CHECKING:
    from headwater import Server

log = logging.getLogger("headwater.dvr")

CLOSE_GRACE = 5.0
"""Seconds the recorders get to close their segments before the indexes close at shutdown."""

_services: weakref.WeakKeyDictionary[Any, DvrService] = weakref.WeakKeyDictionary()


def absolute(root: Path) -> Path:
    """``root`` as an absolute, normalised path (without touching the disk)."""
    return Path(os.path.abspath(root))


def service_for(server: Server) -> DvrService:
    """The one DVR service of ``server`` (made on first use)."""
    service = _services.get(server)
    if service is None:
        service = _services[server] = DvrService(server)
    return service


class DvrService:
    """Archives by root, opened once each, and the sweeper (see the module docstring)."""

    name = "dvr"

    def __init__(self, server: Server) -> None:
        self.server = server
        self.addresses: list[tuple[str, int]] = []
        self.archives: dict[Path, Archive] = {}
        self.interval = SWEEP_INTERVAL
        self.clock: Callable[[], float] = time.time
        self.disk_usage: Callable[[str], DiskUsage] | None = None
        self.deleted: dict[str, int] = {}
        """Segments deleted since start, by rule (``expiration``, ``storage_limit``, ...)."""
        self.recording: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        """Stream → the number of the publication a recorder was attached to."""
        self._opening: dict[Path, anyio.Event] = {}
        self._wake = anyio.Event()

    async def archive(self, root: Path) -> Archive:
        """The open archive of ``root`` (opened, rebuilt or recovered on first use)."""
        root = absolute(root)
        found = self.archives.get(root)
        if found is not None:
            return found
        pending = self._opening.get(root)
        if pending is not None:
            await pending.wait()
            found = self.archives.get(root)
            if found is None:
                raise OSError(f"the DVR archive {root} could not be opened")
            return found
        done = self._opening[root] = anyio.Event()
        try:
            archive = Archive(root)
            await archive.open()
            self.archives[root] = archive
            return archive
        finally:
            del self._opening[root]
            done.set()

    async def archive_of(self, name: str) -> tuple[Archive, DVRSettings] | None:
        """The archive and settings for stream ``name``, or None when it has no ``dvr``."""
        dvr = dvr_for(self.server, name)
        if dvr is None:
            return None
        return await self.archive(root_path(self.server, dvr)), dvr

    def cached_archive(self, dvr: DVRSettings) -> Archive | None:
        """The archive of a ``dvr`` setting if it is open (no I/O: for sync callers)."""
        return self.archives.get(absolute(root_path(self.server, dvr)))

    def request_sweep(self) -> None:
        """Sweep now rather than at the next scheduled time."""
        self._wake.set()

    async def sweep_all(self) -> None:
        """One retention sweep of every open archive."""
        for archive in list(self.archives.values()):
            try:
                kwargs = {"disk_usage": self.disk_usage} if self.disk_usage else {}
                report = await sweep(
                    archive, lambda name: dvr_for(self.server, name), self.clock(), **kwargs
                )
            except OSError as exc:
                log.error("DVR %s: retention sweep failed: %s", archive.root, exc)
                continue
            for rule, count in report.segments.items():
                self.count_deleted(rule, count)

    def count_deleted(self, rule: str, segments: int) -> None:
        """Add to the deleted-segments counter of ``rule`` (a retention rule, or ``api``)."""
        self.deleted[rule] = self.deleted.get(rule, 0) + segments

    async def serve(self, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open the configured roots, then sweep on schedule until cancelled."""
        roots = {absolute(root_path(self.server, dvr)) for dvr in configured(self.server)}
        for root in sorted(roots):
            try:
                await self.archive(root)
            except OSError as exc:
                log.error("DVR archive %s cannot be opened: %s", root, exc)
        task_status.started(self.addresses)
        try:
            while True:
                await self.sweep_all()
                with anyio.move_on_after(self.interval):
                    await self._wake.wait()
                self._wake = anyio.Event()
        finally:
            with anyio.CancelScope(shield=True):
                # recorders close their last segment as the server stops: let them finish
                with anyio.move_on_after(CLOSE_GRACE):
                    for _ in range(int(CLOSE_GRACE / 0.05)):
                        if not any(a.writing for a in self.archives.values()):
                            break
                        await anyio.sleep(0.05)
                for archive in list(self.archives.values()):
                    await archive.close()
                self.archives.clear()
