"""Where a player's stream comes from: the core's play entry point.

Kept in one place so that moving to ``server.playable``/``server.play`` (the core's play
entry point, with access checks) changes one line in each function below.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from headwater.naming import name_problem

if TYPE_CHECKING:
    from headwater.server import Server
    from headwater.stream import Stream
    from headwater.subscription import Subscription


class PlayRefused(Exception):
    """A player asked for a stream it cannot have; ``status`` is the RTSP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def playable(server: Server, name: str, args: dict[str, str], peer: tuple[str, int]) -> Stream:
    """The live stream ``name``, or PlayRefused (400 bad name, 404 not live)."""
    problem = name_problem(name)
    if problem:
        raise PlayRefused(400, f"{problem}: {name[:80]!r}")
    stream = server.streams.get(name)
    if stream is None or not stream.live:
        raise PlayRefused(404, f"stream {name!r} is not live")
    return stream


@asynccontextmanager
async def play(
    server: Server, stream: Stream, who: str, args: dict[str, str], peer: tuple[str, int]
) -> AsyncIterator[Subscription]:
    """A subscription to ``stream`` from its last keyframe until the publication ends."""
    async with stream.subscribe(who) as subscription:
        yield subscription
