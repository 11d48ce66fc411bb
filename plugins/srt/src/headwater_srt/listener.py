"""SRT listeners built from ``listeners.srt`` entries: one port (names from stream ids) or
a ``mode = "publish"`` port range (names from the config backend by port)."""

from __future__ import annotations

import logging
import resource
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus

from headwater import ListenerSettings

from .port_resolver import FixedName, PortResolver
from .publisher import SRTPublisher
from .server import SRTService
from .settings import SRTSettings

if TYPE_CHECKING:
    from headwater import Server

log = logging.getLogger("headwater.srt")

FD_MARGIN = 512
"""File descriptors kept free beyond one per port (HTTP, recordings, callers' sockets)."""


def raise_open_files_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``needed`` (up to the hard limit); return the
    resulting soft limit. Logs clearly when the system does not allow enough."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    except (ValueError, OSError) as exc:
        log.error("srt: could not raise the open-files limit to %d: %s", target, exc)
    if soft < needed:
        log.error(
            "srt: %d ports need about %d open files but the limit is %d (hard %s); raise it "
            "with `ulimit -n %d` or LimitNOFILE=%d in the service unit",
            needed - FD_MARGIN,
            needed,
            soft,
            hard,
            needed,
            needed,
        )
    return soft


class SRTListener:
    """One ``listeners.srt`` entry as a headwater listener."""

    name = "srt"

    def __init__(self, server: Server, entry: ListenerSettings, settings: SRTSettings) -> None:
        self.server = server
        self.entry = entry
        extra: dict[str, Any] = entry.model_extra or {}
        ports = list(entry.ports) if entry.ports is not None else [entry.port or 0]
        fixed = extra.get("stream")
        self.by_port = entry.mode == "publish" or entry.ports is not None or bool(fixed)
        self.service = SRTService(
            entry.host,
            ports,
            SRTPublisher(server),
            latency_ms=int(extra.get("latency", settings.latency)),
            idle_timeout=settings.peer_idle_timeout,
            decision_timeout=settings.resolve_timeout + 0.5,
        )
        self.resolver: PortResolver | FixedName = (
            FixedName(str(fixed))
            if fixed
            else PortResolver(
                lambda: self.server.settings.config_external, timeout=settings.resolve_timeout
            )
        )
        self._resolved_ports: frozenset[int] = frozenset()
        """The bound ports this listener names by asking the config backend."""

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The bound addresses (one per port)."""
        return self.service.addresses

    async def serve(self, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind every port, then serve until cancelled."""
        count = len(self.service.requested_ports)
        if count > 1:
            raise_open_files_limit(count + FD_MARGIN)

        async with anyio.create_task_group() as tg:
            addresses = await tg.start(self.service.serve)
            if self.by_port:
                self._resolved_ports = frozenset(port for _host, port in addresses)
            if count > 1:
                first, last = addresses[0][1], addresses[-1][1]
                log.info("srt: listening on %d ports %d..%d", count, first, last)
            task_status.started(addresses)

    def resolver_for(self, port: int) -> PortResolver | FixedName | None:
        """The resolver of ``port`` when this listener names publications by port (the
        config backend's, or one fixed stream name)."""
        return self.resolver if port in self._resolved_ports else None
        return None
