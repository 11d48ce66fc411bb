"""The play path: one entry point through which every player reaches a live stream.

A protocol plugin builds a :class:`PlayRequest`; :func:`playable` validates the name,
finds the stream and checks that it is live, or raises :class:`PlayRejected` (logged in
one line with its reason); :func:`play` then hands back a subscription that starts at a
keyframe from the stream's GOP cache and ends with the publication.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from headwater.errors import PlayRejected, Refusal
from headwater.log_text import shown
from headwater.naming import name_problem
from headwater.play_request import PlayRequest
from headwater.registry import StreamRegistry
from headwater.stream import Stream
from headwater.subscription import Subscription

log = logging.getLogger("headwater.play")


def playable(streams: StreamRegistry, request: PlayRequest) -> Stream:
    """The live stream ``request`` names, or raise :class:`PlayRejected` with the reason."""
    try:
        return _find_live(streams, request.name)
    except PlayRejected as exc:
        log.warning(
            "refused %s play from %s (%s): %s",
            request.proto,
            request.ip or "?",
            shown(request.name),
            exc.reason,
        )
        raise


def _find_live(streams: StreamRegistry, name: str) -> Stream:
    problem = name_problem(name)
    if problem:
        raise PlayRejected(Refusal.BAD_NAME, f"{problem}: {shown(name, 80)}")
    stream = streams.get(name)
    if stream is None:
        raise PlayRejected(Refusal.NOT_FOUND, f"no stream {name!r}")
    if not stream.live:
        raise PlayRejected(Refusal.NOT_FOUND, f"stream {name!r} is not live")
    return stream


@asynccontextmanager
async def play(streams: StreamRegistry, request: PlayRequest) -> AsyncIterator[Subscription]:
    """Subscribe the player to the stream from its last keyframe until the publication ends.

    Raises :class:`PlayRejected` on entry, like :func:`playable`. The subscription is
    detached (its drops counted in the stream's total) when the block exits.
    """
    stream = playable(streams, request)
    subscription = stream.open_subscription(request.who)
    log.debug("%s: %s started playing", stream.name, request.who)
    try:
        yield subscription
    finally:
        stream.close_subscription(subscription)
