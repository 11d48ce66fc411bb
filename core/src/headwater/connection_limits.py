"""Connection limits shared by every TCP listener (RTMP, HTTP, RTSP, plugins).

A listener asks its :class:`ConnectionGate` before it allocates anything for a new client:
the gate counts the listener's connections in total and per client address
(``limits.max_connections``, ``limits.max_connections_per_ip``) and the server's
connections against the open-files limit (:class:`FileBudget`), which
:func:`raise_open_files_limit` lifts to its hard maximum at start-up. A refused client is
closed at once; refusals are counted (the monitoring API shows them) and logged in one
line, at most one line per listener and limit every :data:`LOG_EVERY` seconds under a flood.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import Counter
from collections.abc import Callable

from headwater.config.models import Limits

log = logging.getLogger("headwater.limits")

LOG_EVERY = 10.0
"""Seconds between refusal log lines of one listener while refusals keep coming."""


def raise_open_files_limit() -> int:
    """Lift the soft open-files limit to the hard one; return the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-files limit from %d to %d: %s", soft, target, exc)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


class FileBudget:
    """Server-wide count of client connections against the open-files limit.

    ``capacity`` is the open-files limit minus ``limits.reserved_fds``: connections past it
    are refused, so recordings, the API and the listeners always find a descriptor.
    """

    def __init__(self, limits: Callable[[], Limits], open_files: int | None = None) -> None:
        self._limits = limits
        self.open_files = open_files if open_files is not None else raise_open_files_limit()
        self.open = 0

    @property
    def capacity(self) -> int:
        """Connections the server may hold at once."""
        return max(0, self.open_files - self._limits().reserved_fds)


class ConnectionGate:
    """One listener's connection counts: :meth:`admit` before allocating, :meth:`release`
    when the connection is gone (exactly once per admitted connection)."""

    def __init__(self, name: str, limits: Callable[[], Limits], files: FileBudget) -> None:
        self.name = name
        self._limits = limits
        self.files = files
        self.open = 0
        self.per_ip: Counter[str] = Counter()
        self.refused = 0
        self._next_log: dict[str, float] = {}
        self._quiet: Counter[str] = Counter()

    def admit(self, ip: str, port: int = 0) -> bool:
        """Count a new connection from ``ip``; False (logged, counted) when a limit is reached."""
        limits = self._limits()
        reason = kind = None
        if self.open >= limits.max_connections:
            kind = "listener"
            reason = f"the listener's limit of {limits.max_connections} connections is reached"
        elif self.per_ip[ip] >= limits.max_connections_per_ip:
            kind = "address"
            reason = (
                f"the limit of {limits.max_connections_per_ip} connections per address is reached"
            )
        elif self.files.open >= self.files.capacity:
            kind = "files"
            reason = (
                f"{self.files.open} connections use the open-files limit "
                f"({self.files.open_files}, {limits.reserved_fds} reserved)"
            )
        if reason is not None and kind is not None:
            self._refuse(ip, port, kind, reason)
            return False
        self.open += 1
        self.per_ip[ip] += 1
        self.files.open += 1
        return True

    def release(self, ip: str) -> None:
        """Forget one admitted connection from ``ip``."""
        self.open -= 1
        self.files.open -= 1
        left = self.per_ip[ip] - 1
        if left > 0:
            self.per_ip[ip] = left
        else:
            del self.per_ip[ip]

    def _refuse(self, ip: str, port: int, kind: str, reason: str) -> None:
        self.refused += 1
        now = time.monotonic()
        if now < self._next_log.get(kind, 0.0):
            self._quiet[kind] += 1
            return
        quiet = self._quiet.pop(kind, 0)
        more = f" ({quiet} more refused for this since the last line)" if quiet else ""
        log.warning("%s %s:%s refused: %s%s", self.name, ip, port, reason, more)
        self._next_log[kind] = now + LOG_EVERY

    def stats(self) -> dict[str, int]:
        """Open and refused connections (shown by the monitoring API)."""
        return {"open": self.open, "refused": self.refused, "addresses": len(self.per_ip)}


class ConnectionLimits:
    """The server's :class:`FileBudget` and one :class:`ConnectionGate` per listener name."""

    def __init__(self, limits: Callable[[], Limits], open_files: int | None = None) -> None:
        self._limits = limits
        self.files = FileBudget(limits, open_files)
        self.gates: dict[str, ConnectionGate] = {}

    def gate(self, name: str) -> ConnectionGate:
        """The gate of listener ``name`` (``"rtmp"``, ``"http"``, ``"rtsp"``...), made once."""
        found = self.gates.get(name)
        if found is None:
            found = self.gates[name] = ConnectionGate(name, self._limits, self.files)
        return found

    def stats(self) -> dict[str, dict[str, int]]:
        """Open and refused connections per listener."""
        return {name: gate.stats() for name, gate in sorted(self.gates.items())}
