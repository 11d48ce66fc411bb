"""Where a player's stream comes from: the core's play entry point (``server.playable`` to
describe a stream, ``server.play`` to watch it), with RTSP's statuses for its refusals."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from headwater import PlayRejected, PlayRequest
from headwater_rtsp.wire.refusals import REFUSAL_STATUS

if TYPE_CHECKING:
    from headwater import Server, Stream, Subscription


class PlayRefused(Exception):
    """A player asked for a stream it cannot have; ``status`` is the RTSP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def playable(server: Server, name: str, args: dict[str, str], peer: tuple[str, int]) -> Stream:
    """The live stream ``name`` (to describe it), or PlayRefused with its RTSP status."""
    try:
        return server.playable(PlayRequest("rtsp", name, peer, dict(args)))
    except PlayRejected as exc:
        raise PlayRefused(REFUSAL_STATUS.get(exc.refusal, 404), exc.reason) from None


def play(
    server: Server, name: str, args: dict[str, str], peer: tuple[str, int]
) -> AbstractAsyncContextManager[Subscription]:
    """A subscription to ``name`` from its last keyframe until the publication ends."""
    return server.play(PlayRequest("rtsp", name, peer, dict(args)))
