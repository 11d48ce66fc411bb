"""One timer for many waits: the listener's RTMP connections resume their paused reads
(``read_interval``) and end their players' rests (``play_interval``) on a shared tick.

With a timer per connection, 60 publishers and 60 players woke the event loop some 1,100
times a second at scattered moments, each wake-up an ``epoll_wait`` return, a context
switch and a loop iteration for one read or one rest. On a shared tick every paused
publisher is resumed at once, all of their reads come back in one poll, and the players
write in the next iteration: the loop wakes about once per interval, whatever the number of
connections. A wait asked for ends at the next tick, so it lasts at most ``interval``
(ticks are ``interval`` apart while anyone waits; the first after an idle spell comes
``interval`` after the first wait), never longer than the per-connection timer it replaces.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("headwater.rtmp")


class Ticker:
    """Runs the callbacks registered since the last tick, together, at the next tick."""

    __slots__ = ("_due", "_handle", "_last", "_loop", "interval")

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"a tick interval must be positive, not {interval!r}")
        self.interval = interval
        self._due: dict[object, Callable[[], None]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
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
        then replaces the first). ``callback`` must not raise: failures are its owner's."""
        self._due[key] = callback
        if self._handle is None:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
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
        self._handle = None
        assert self._loop is not None
        self._last = self._loop.time()
        due, self._due = self._due, {}
        for callback in due.values():
            try:
                callback()
            except Exception:  # a callback handles its own failures; never stop the others
                log.exception("rtmp: a tick callback failed")
