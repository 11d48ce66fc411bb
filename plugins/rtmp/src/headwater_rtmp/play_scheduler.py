"""When RTMP players write: every player with frames to send gets its turn in one loop
callback per loop iteration, shared by all the players of a listener.

A player's subscription calls it when its queue gets a frame while it was empty (inside
the publisher's fan-out, where nothing may be written); the player asks for a turn with
:meth:`PlayScheduler.soon`, and right after the publisher's read has been fanned out one
callback gives every such player its turn: take every queued frame, chunk it, one
``transport.write``. After a turn that wrote, a player rests ``play_interval`` (one timer
of its own) so that the next frames gather; frames that come while it rests go out when
the rest is over, the ones that come later at once. A player thus writes once per
publisher read at most, at the moment the frames arrive, without a task wake-up, a
``sleep`` future and a subscription wait per turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("headwater.rtmp")


class PlayScheduler:
    """Runs the turns asked for since the last run, once, from one ``call_soon``."""

    __slots__ = ("_due", "_handle", "_loop")

    def __init__(self) -> None:
        self._due: dict[object, Callable[[], None]] = {}
        self._handle: asyncio.Handle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        """Turns waiting for the next run."""
        return len(self._due)

    def soon(self, key: object, turn: Callable[[], None]) -> None:
        """Call ``turn()`` once in the next run (asking again before it runs changes
        nothing). ``turn`` must not raise: a player's failure is its connection's."""
        self._due[key] = turn
        if self._handle is None:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            self._handle = loop.call_soon(self._run)

    def cancel(self, key: object) -> None:
        """Forget the turn asked for under ``key``, if it has not run yet."""
        self._due.pop(key, None)

    def _run(self) -> None:
        self._handle = None
        due, self._due = self._due, {}
        for turn in due.values():
            try:
                turn()
            except Exception:  # a turn handles its own failures; never stop the others
                log.exception("rtmp: a player's turn failed")
