"""The push life cycle: find the protocol plugin for a URL, run it, retry with back-off."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import anyio

from headwater import emit_event as emit
from headwater_push.backoff import Backoff
from headwater_push.template import redact

if TYPE_CHECKING:
    from headwater import Server, Stream, Subscription

log = logging.getLogger("headwater.push")


class Push:
    """A consumer that re-publishes a stream to one URL for as long as it is published.

    The protocol plugin that claims the URL (``push`` hook, first non-None wins) does the
    sending; when it fails, the push waits (1, 2, 4 ... 30 s) and tries again from the next
    keyframe. ``status`` is shown in the API.
    """

    def __init__(
        self, server: Server, stream: Stream, url: str, backoff: Backoff | None = None
    ) -> None:
        self.server = server
        self.stream = stream
        self.url = url
        self.name = f"push {redact(url)}"
        self.backoff = backoff or Backoff()
        self.status: dict[str, Any] = {
            "url": redact(url),
            "state": "starting",
            "attempts": 0,
            "errors": 0,
        }

    async def run(self, subscription: Subscription) -> None:
        """Push until the subscription ends; never raises for a failing destination."""
        status = self.status
        while not subscription.ended or subscription.pending:
            target = await self.server.find_pusher(self.stream, self.url)
            if target is None:
                status["state"] = "unsupported"
                log.error(
                    "%s: no installed plugin can push to %s", self.stream.name, redact(self.url)
                )
                return
            status["attempts"] += 1
            status["state"] = "running"
            started = time.monotonic()
            emit(self.server, "push_started", media=self.stream.name, url=redact(self.url))
            try:
                await target.run(subscription)
            except Exception as exc:
                status["errors"] += 1
                status["last_error"] = f"{type(exc).__name__}: {exc}"
                emit(
                    self.server,
                    "push_closed",
                    media=self.stream.name,
                    url=redact(self.url),
                    reason=status["last_error"],
                )
                delay = self.backoff.next_delay(time.monotonic() - started)
                status["state"] = "retrying"
                log.warning(
                    "%s: push to %s failed (%s); retrying in %gs",
                    self.stream.name,
                    redact(self.url),
                    status["last_error"],
                    delay,
                )
                await anyio.sleep(delay)
                if subscription.ended:
                    break
                subscription.resync()
                continue
            emit(
                self.server,
                "push_closed",
                media=self.stream.name,
                url=redact(self.url),
                reason="stream ended",
            )
            break
        status["state"] = "stopped"
