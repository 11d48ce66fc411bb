"""One timer for every HTTP MPEG-TS publisher's paused reads.

A publisher whose body goes to a :class:`~headwater_mpegts.ts_sink.TSBodySink` stops reading
after each small read and is resumed at the next tick, so that the kernel gathers its next
chunks and one read, one parse pass and one demuxer feed serve all of them. With a timer
each, 30 publishers woke the event loop some 300 times a second at scattered moments; on a
shared tick all of them resume together and their reads come back in one poll. A wait ends
at the next tick, so it lasts at most ``interval`` (the RTMP plugin's read ticker works the
same way; plugins share no code but the core's).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("headwater.mpegts")


class ReadTick:
    """Runs the callbacks registered since the last tick, together, at the next one."""

    __slots__ = ("_due", "_handle", "_last", "interval")

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"a tick interval must be positive, not {interval!r}")
        self.interval = interval
        self._due: dict[object, Callable[[], None]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._last = float("-inf")
        """Loop time of the last tick (the next is ``interval`` after it while busy)."""

    def __len__(self) -> int:
        """Callbacks waiting for the next tick."""
        return len(self._due)

    def at_next(self, key: object, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at the next tick (a second call with the same ``key`` before
        then replaces the first)."""
        self._due[key] = callback
        if self._handle is None:  # once a tick: the loop is looked up, not kept
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
            except Exception:  # one publisher's failure never stops the others' reads
                log.exception("mpegts: a read tick callback failed")
