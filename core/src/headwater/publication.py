"""A publisher's handle on its stream while the publication lasts, and its consumers.

The publication owns its consumers (recorders, pushers): each runs in the server's task
group on its own subscription, under a cancel scope of its own, and sets its own done
event when it ends, so that stopping waits for exactly this publication's consumers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from anyio.abc import TaskGroup

from headwater.consumers import Consumer
from headwater.media.frames import Frame
from headwater.publish_request import PublishRequest
from headwater.stream import Stream
from headwater.subscription import Subscription

log = logging.getLogger("headwater.publish")

CONSUMER_GRACE = 5.0
"""Seconds a consumer may take to drain after its publication ended (and again once
cancelled)."""


class Publication:
    """What ``server.publish(request)`` yields: send frames until the client leaves.

    ``send`` is synchronous and never blocks: consumers read from their own queues. The
    publication can be stopped from outside (takeover, idle timeout, API, shutdown); the
    protocol handler then sees a cancellation at its next ``await``.
    """

    def __init__(self, stream: Stream, request: PublishRequest, scope: anyio.CancelScope) -> None:
        self.stream = stream
        self.request = request
        self.name = stream.name
        self.scope = scope
        self.stop_reason: str | None = None
        self.last_activity = time.monotonic()
        self._put = stream.put
        self._put_many = stream.put_many
        self._consumers: list[tuple[anyio.CancelScope, anyio.Event]] = []

    def send(self, frame: Frame) -> None:
        """Publish one frame to the stream (fan-out, GOP cache, stats)."""
        self._put(frame)

    def send_many(self, frames: list[Frame]) -> None:
        """Publish several frames in order (what one read brought): the same as
        :meth:`send` for each, in one pass (:meth:`Stream.put_many`)."""
        self._put_many(frames)

    def add_bytes(self, count: int) -> None:
        """Count bytes received on the wire (for stats only: bytes that make no frame do not
        keep a publication alive, see :attr:`idle_for`)."""
        self.stream.stats.wire_bytes_in += count

    def set_input_stats(self, provider: Callable[[], dict[str, Any]]) -> None:
        """Let the API show the protocol's live counters (SRT RTT, loss...) under ``input``;
        ``provider`` is called on each API read while the publication lasts."""
        self.stream.input_stats = provider

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Keep the publisher's metadata (e.g. RTMP onMetaData) in the stream info."""
        self.stream.metadata = dict(metadata)

    @property
    def idle_for(self) -> float:
        """Seconds since the last frame (or since the publication began, before the first)."""
        last = max(self.last_activity, self.stream.stats.last_frame_at)
        return time.monotonic() - last

    def stop(self, reason: str) -> None:
        """End the publication from outside; the protocol handler is cancelled."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self.stream.source_error = reason
            log.info("%s: stopping publisher %s: %s", self.name, self.request.ip, reason)
        self.scope.cancel()

    # -- consumers -------------------------------------------------------------------------

    def start_consumer(self, consumer: Consumer, task_group: TaskGroup) -> None:
        """Run ``consumer`` on a subscription of its own for as long as this publication."""
        subscription = self.stream.open_subscription(consumer.name)
        scope = anyio.CancelScope()  # one each: a CancelScope guards a single `with`
        done = anyio.Event()
        self._consumers.append((scope, done))
        task_group.start_soon(self._run_consumer, consumer, subscription, scope, done)

    async def _run_consumer(
        self,
        consumer: Consumer,
        subscription: Subscription,
        scope: anyio.CancelScope,
        done: anyio.Event,
    ) -> None:
        try:
            with scope:
                await consumer.run(subscription)
        except Exception as exc:
            log.error(
                "%s: consumer %s failed: %s: %s", self.name, consumer.name, type(exc).__name__, exc
            )
        finally:
            self.stream.close_subscription(subscription)
            done.set()

    async def stop_consumers(self, grace: float = CONSUMER_GRACE) -> None:
        """Give the consumers ``grace`` seconds to drain, cancel the rest, wait as long again."""
        with anyio.move_on_after(grace):
            for _scope, done in self._consumers:
                await done.wait()
        for scope, _done in self._consumers:
            scope.cancel()
        with anyio.move_on_after(grace):
            for _scope, done in self._consumers:
                await done.wait()
        self._consumers.clear()
