"""Event sinks: an HTTP handler receiving JSON batches, or a JSON-lines file.

Each sink has a bounded queue (``resend_limit`` events; the oldest are dropped beyond it,
counted and logged) and one task delivering from it, so emitting never waits. An HTTP
sink sends up to 100 events per POST after ``throttle_delay`` (at once when 100 wait);
a failed POST (error, timeout, non-2xx) is retried with back-off doubling from 1 s up to
``resend_timeout``, keeping the order.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from pathlib import Path
from typing import Any

import aiofiles
import anyio
import httpx

from headwater.config.models import EventSinkSettings

log = logging.getLogger("headwater.events")

BATCH = 100


class Sink:
    """A bounded queue of events and the task that delivers them."""

    def __init__(self, settings: EventSinkSettings) -> None:
        self.settings = settings
        self.queue: deque[dict[str, Any]] = deque()
        self.dropped = 0
        self.delivered = 0
        self.failures = 0
        self._wake = anyio.Event()

    def put(self, event: dict[str, Any]) -> None:
        """Queue an event; beyond ``resend_limit`` the oldest one is dropped."""
        if len(self.queue) >= self.settings.resend_limit:
            self.queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "event sink %s is behind: %d events dropped", self.settings.name, self.dropped
                )
        self.queue.append(event)
        self._wake.set()

    async def _next_batch(self) -> list[dict[str, Any]]:
        while not self.queue:
            self._wake = anyio.Event()
            await self._wake.wait()
        if self.settings.throttle_delay and len(self.queue) < BATCH:
            await anyio.sleep(self.settings.throttle_delay)
        return list(peek(self.queue, BATCH))

    def _done(self, count: int) -> None:
        for _ in range(min(count, len(self.queue))):
            self.queue.popleft()
        self.delivered += count

    async def run(self) -> None:
        """Deliver until cancelled."""
        raise NotImplementedError


def peek(queue: deque[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The first ``n`` events of the queue, without removing them."""
    out = []
    for event in queue:
        if len(out) >= n:
            break
        out.append(event)
    return out


class HttpSink(Sink):
    """POSTs JSON arrays of events to an ``http(s)://`` handler."""

    async def run(self) -> None:
        """Deliver batches in order; retry a failed one with back-off."""
        settings = self.settings
        delay = 1.0
        async with httpx.AsyncClient(timeout=settings.timeout) as client:
            while True:
                batch = await self._next_batch()
                try:
                    with anyio.fail_after(settings.timeout):
                        response = await client.post(settings.url, json=batch)
                    if not 200 <= response.status_code < 300:
                        raise ValueError(f"HTTP {response.status_code}")
                except (httpx.HTTPError, ValueError, TimeoutError) as exc:
                    self.failures += 1
                    reason = "timeout" if isinstance(exc, TimeoutError) else str(exc) or repr(exc)
                    log.warning(
                        "event sink %s failed (%s); %d events wait, retrying in %gs",
                        settings.name,
                        reason,
                        len(self.queue),
                        delay,
                    )
                    await anyio.sleep(delay)
                    delay = min(delay * 2, max(settings.resend_timeout, 1.0))
                    continue
                delay = 1.0
                self._done(len(batch))


class JsonLogSink(Sink):
    """Appends one JSON object per line to the file of a ``jsonlog://PATH`` URL."""

    async def run(self) -> None:
        """Write batches as they come, flushed each time."""
        path = Path(self.settings.url.removeprefix("jsonlog://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        async with aiofiles.open(path, "a", encoding="utf-8") as out:
            while True:
                batch = await self._next_batch()
                await out.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in batch))
                await out.flush()
                self._done(len(batch))


def make_sink(settings: EventSinkSettings) -> Sink:
    """The sink for a URL's scheme."""
    if settings.url.startswith("jsonlog://"):
        return JsonLogSink(settings)
    return HttpSink(settings)
