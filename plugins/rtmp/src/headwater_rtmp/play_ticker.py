"""One timer for every RTMP player of a listener: each ``play_interval`` a single loop
callback gives every player its turn (take what its subscription gathered, chunk it,
one ``transport.write``), instead of one task wake-up, one ``sleep`` timer and one
subscription wait per player and turn.

The players' tasks only wait for the end of their stream; the ticker runs while at least
one player is registered and stops by itself when the last one leaves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("headwater.rtmp")


class PlayTicker:
    """Calls every registered turn every ``interval`` seconds, in registration order."""

    __slots__ = ("_handle", "_loop", "_turns", "interval")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._turns: dict[object, Callable[[], None]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return len(self._turns)

    def add(self, key: object, turn: Callable[[], None]) -> None:
        """Call ``turn()`` every tick until :meth:`remove` (``turn`` must not raise: a
        player's failure is its connection's to handle)."""
        self._turns[key] = turn
        if self._handle is None:
            self._loop = loop = asyncio.get_running_loop()
            self._handle = loop.call_later(self.interval, self._tick)

    def remove(self, key: object) -> None:
        """Stop calling the turn registered under ``key`` (no error if there is none)."""
        self._turns.pop(key, None)
        if not self._turns and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        self._handle = None
        for turn in list(self._turns.values()):
            try:
                turn()
            except Exception:  # a turn handles its own failures; never stop the others
                log.exception("rtmp: a player's turn failed")
        loop = self._loop
        if self._turns and self._handle is None and loop is not None and not loop.is_closed():
            self._handle = loop.call_later(self.interval, self._tick)
