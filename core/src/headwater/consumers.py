"""Consumers: recorders, pushers and anything else that reads a stream as it is published."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from headwater.subscription import Subscription


@runtime_checkable
class Consumer(Protocol):
    """Something the core runs on its own subscription for as long as a publication lasts.

    ``run`` reads frames from the subscription (``async for frame in subscription``) and
    returns when the iteration ends. A pusher raises when its destination fails, so the
    push plugin can retry with back-off.
    """

    name: str

    async def run(self, subscription: Subscription) -> None:
        """Consume the stream until the subscription ends."""
        ...
