"""How live HLS reaches a stream: the one place that asks the core for it.

These two functions are today's equivalent of the core's play entry point
(``server.playable(PlayRequest)`` / ``server.play(PlayRequest)``); switching to it changes
only their bodies.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater import Server, Stream, Subscription


def playable(server: Server, name: str) -> Stream | None:
    """The stream called ``name`` if it can be watched now (it exists and is live)."""
    stream = server.streams.get(name)
    if stream is None or not stream.live:
        return None
    return stream


def subscribe(
    server: Server, name: str, who: str
) -> AbstractAsyncContextManager[Subscription] | None:
    """A subscription to ``name`` starting at its cached keyframe, or None when not live."""
    stream = playable(server, name)
    return None if stream is None else stream.subscribe(who)
