"""A server-wide budget of bytes held for messages that peers have not finished.

Each sans-I/O core that buffers a peer's partial message (RTMP chunk stream, RTSP requests)
is a *holder*: it :meth:`~ByteBudget.take` s what it holds beyond what it held before and
:meth:`~ByteBudget.give` s it back when the message completes or the connection closes. The
server owns one budget (``limits.max_buffered_bytes``), so slow senders together cannot take
the machine's memory. When a take would pass the limit, the holder whose unfinished message
has waited longest is evicted (its :meth:`Holder.budget_evicted` drops what it holds and
closes its connection): a publisher's messages complete within a second, a hoarder's do
not, so the hoarder loses its connection, not the publisher asking for room for its next
keyframe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

RELEASE_THRESHOLD = 32 << 20
"""Bytes given back since the last release that make :meth:`ByteBudget.release_freed` act."""
RELEASE_FLOOR = 1 << 20
"""Below this, bytes given back never make :meth:`ByteBudget.release_freed` act: publishers
complete messages all the time, and trimming the heap each second for their few kilobytes
cost 3-6 ms a second (some 80 ``madvise`` calls, then page faults to take the pages back)."""


def trim_heap() -> bool:
    """Return the C heap's free memory to the system (glibc ``malloc_trim``); False where
    there is no such call."""
    global _malloc_trim
    if _malloc_trim is None:
        import ctypes  # here, not at the top: sans-I/O cores import this module
        import ctypes.util

        try:
            _malloc_trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim is False:
        return False
    _malloc_trim(0)
    return True


_malloc_trim: Any = None


class Holder(Protocol):
    """Something that holds bytes from a :class:`ByteBudget`."""

    def budget_evicted(self, reason: str) -> None:
        """Drop everything held (the budget already took it back) and close the peer."""

    def oldest_started(self) -> float | None:
        """When the holder's oldest unfinished message began (its caller's clock), or None."""


def _started(holder: Holder) -> float:
    """A holder's oldest unfinished message's start, for choosing whom to evict."""
    started = getattr(holder, "oldest_started", None)
    value = started() if started is not None else None
    return float("inf") if value is None else value


class ByteBudget:
    """Bytes held by all connections for unfinished messages, against a limit."""

    def __init__(self, limit: int | Callable[[], int]) -> None:
        self._limit = limit if callable(limit) else (lambda: limit)
        self.held = 0
        self.evicted = 0
        self.peak = 0
        """The most held since :meth:`release_freed` last ran."""
        self._holders: dict[Holder, int] = {}

    @property
    def limit(self) -> int:
        """The current limit in bytes."""
        return int(self._limit())

    def take(self, holder: Holder, count: int) -> bool:
        """Hold ``count`` more bytes for ``holder``. Past the limit, holders are evicted until
        it fits: first the one whose unfinished message has waited longest, among equals the
        biggest; False (nothing taken) when that is ``holder`` itself."""
        holders = self._holders
        self.held += count
        if self.held > self.peak:
            self.peak = self.held
        holders[holder] = holders.get(holder, 0) + count
        limit = self._limit()
        while self.held > limit:
            victim = min(holders, key=lambda h: (_started(h), -holders[h]))
            self.evicted += 1
            self.held -= holders.pop(victim)
            if victim is holder:
                return False
            victim.budget_evicted(
                f"the server-wide limit of {limit} bytes for unfinished messages was reached "
                "and this connection's message had waited longest"
            )
        return True

    def give(self, holder: Holder, count: int) -> None:
        """Give back ``count`` bytes that ``holder`` took."""
        held = self._holders.get(holder)
        if held is None:
            return  # evicted: its bytes were taken back then
        self.held -= count
        if held - count > 0:
            self._holders[holder] = held - count
        else:
            del self._holders[holder]

    def release_freed(self, threshold: int = RELEASE_THRESHOLD) -> bool:
        """Hand memory back to the system once holders gave back ``threshold`` bytes or more
        since the last time, or everything they held (when that was :data:`RELEASE_FLOOR`
        or more); True when it did.

        Buffers freed by the closed connections of an attack are free to Python but, cut
        into pieces of the C heap, stay in the process; ``malloc_trim`` returns them.
        """
        freed = self.peak - self.held
        if freed < threshold and not (self.held == 0 and freed >= RELEASE_FLOOR):
            return False
        self.peak = self.held
        return trim_heap()

    @property
    def holders(self) -> int:
        """How many holders hold bytes now."""
        return len(self._holders)
