"""A publisher's handle on its stream while the publication lasts."""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio

from headwater.media.frames import Frame
from headwater.publish_request import PublishRequest
from headwater.stream import Stream

log = logging.getLogger("headwater.publish")


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

    def send(self, frame: Frame) -> None:
        """Publish one frame to the stream (fan-out, GOP cache, stats)."""
        self._put(frame)

    def add_bytes(self, count: int) -> None:
        """Count bytes received on the wire (for stats only: bytes that make no frame do not
        keep a publication alive, see :attr:`idle_for`)."""
        self.stream.stats.wire_bytes_in += count

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
            log.info("%s: stopping publisher %s: %s", self.name, self.request.ip, reason)
        self.scope.cancel()
