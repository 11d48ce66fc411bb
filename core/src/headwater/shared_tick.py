"""One timer for many waits: a protocol plugin's connections resume their paused reads (and
end their players' rests, close idle peers) on a shared tick instead of a timer each.

With a timer per connection, 60 RTMP publishers and 60 players woke the event loop some
1,100 times a second at scattered moments, each wake-up an ``epoll_wait`` return, a context
switch and a loop iteration for one read or one rest. On a shared tick every paused
connection is resumed at once, all of their reads come back in one poll, and the loop wakes
about once per interval, whatever the number of connections. A wait asked for ends at the
next tick, so it lasts at most ``interval`` (ticks are ``interval`` apart while anyone waits;
the first after an idle spell comes ``interval`` after the first wait), never longer than
the per-connection timer it replaces. The RTMP plugin's reads, rests and watchdog and the
HTTP MPEG-TS publishers' reads use it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("headwater.tick")


class SharedTick:
    """Runs the callbacks registered since the last tick, together, at the next tick.

    ``name`` says whose tick it is in the log line of a callback that failed. The event
    loop is looked up when a tick is planned, not kept, so one tick may serve servers run
    on different loops one after another (tests do).
    """

    __slots__ = ("_due", "_handle", "_last", "interval", "name")

    def __init__(self, interval: float, name: str = "tick") -> None:
        if interval <= 0:
            raise ValueError(f"a tick interval must be positive, not {interval!r}")
        self.interval = interval
        self.name = name
        self._due: dict[object, Callable[[], None]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._last = float("-inf")
        """Loop time of the last tick (the next is ``interval`` after it while busy)."""

    def __len__(self) -> int:
        """Callbacks waiting for the next tick."""
        return len(self._due)

    @property
    def next_tick(self) -> float | None:
        """Loop time of the next tick, or None when nothing waits for one."""
        return self._handle.when() if self._handle is not None else None

    def at_next(self, key: object, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at the next tick (a second call with the same ``key`` before
        then replaces the first). ``callback`` should not raise: a failure is logged and
        the other callbacks still run."""
        self._due[key] = callback
        if self._handle is None:  # once a tick
            loop = asyncio.get_running_loop()
            now = loop.time()
            when = self._last + self.interval
            if when <= now:  # idle for a while (or never ticked): a whole interval from now
                when = now + self.interval
            self._handle = loop.call_at(when, self._tick)

    def cancel(self, key: object) -> None:
        """Forget the callback registered under ``key``, if the tick has not come yet."""
        self._due.pop(key, None)
        if not self._due and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        handle, self._handle = self._handle, None
        assert handle is not None
        self._last = handle.when()
        due, self._due = self._due, {}
        for callback in due.values():
            try:
                callback()
            except Exception:  # a callback handles its own failures; never stop the others
                log.exception("%s: a tick callback failed", self.name)
