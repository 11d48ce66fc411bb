"""How live HLS reaches a stream: through the core's play entry point.

A playlist request is checked with ``server.playable`` (name, existence, live) for the
client that asked; the stream's HLS reads it through ``server.play`` on one subscription
shared by every viewer.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from headwater import PlayRequest

if TYPE_CHECKING:
    from headwater import Server, Stream, Subscription


def is_live(server: Server, name: str) -> bool:
    """Whether ``name`` is live now (a quiet check: nothing is logged)."""
    stream = server.streams.get(name)
    return stream is not None and stream.live


def playable(server: Server, request: PlayRequest) -> Stream:
    """The stream a client asks for, or raise ``PlayRejected`` (the core logs it)."""
    return server.playable(request)


def subscribe(server: Server, name: str) -> AbstractAsyncContextManager[Subscription] | None:
    """The HLS's own subscription to ``name`` from its cached keyframe, or None if offline."""
    if not is_live(server, name):
        return None
    return server.play(PlayRequest("hls", name))
