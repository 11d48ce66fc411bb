"""A server-wide budget of bytes held for messages that peers have not finished.

Each sans-I/O core that buffers a peer's partial message (RTMP chunk stream, RTSP requests,
HTTP request heads) :meth:`~ByteBudget.take` s what it holds beyond what it held before and
:meth:`~ByteBudget.give` s it back when the message completes or the connection closes. The
server owns one budget (``limits.max_buffered_bytes``), so a thousand slow senders cannot
together take the machine's memory: the connection that would pass the budget is closed.
"""

from __future__ import annotations

from collections.abc import Callable


class ByteBudget:
    """Bytes held by all connections for unfinished messages, against a limit."""

    def __init__(self, limit: int | Callable[[], int]) -> None:
        self._limit = limit if callable(limit) else (lambda: limit)
        self.held = 0
        self.refused = 0

    @property
    def limit(self) -> int:
        """The current limit in bytes."""
        return int(self._limit())

    def take(self, count: int) -> bool:
        """Hold ``count`` more bytes; False (nothing held) when that would pass the limit."""
        if self.held + count > self._limit():
            self.refused += 1
            return False
        self.held += count
        return True

    def give(self, count: int) -> None:
        """Give back ``count`` bytes taken before."""
        self.held -= count


UNLIMITED = ByteBudget(lambda: 1 << 62)
"""A budget that never refuses (sans-I/O cores used on their own, tests)."""
