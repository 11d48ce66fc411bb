"""HTTP MPEG-TS push: a chunked ``POST`` of the live TS to another server (httpx).

The request body is an async generator of TS chunks, so the POST lasts as long as the
publication; a refused or broken request raises, and the push plugin retries with
back-off.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from headwater import Subscription
from headwater.media.mpegts import TSWriter

CONNECT_TIMEOUT = 10.0


class HTTPPush:
    """A consumer that POSTs a stream as TS to ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"http-push {url}"
        self.bytes_sent = 0

    async def run(self, subscription: Subscription) -> None:
        """POST until the subscription ends; raise on a refused or failed request."""
        timeout = httpx.Timeout(CONNECT_TIMEOUT, read=None, write=CONNECT_TIMEOUT)
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(
                self.url,
                content=self._body(subscription),
                headers={"content-type": "video/mp2t"},
            )
        if response.status_code >= 300:
            reason = response.text.strip().splitlines()[0] if response.text.strip() else ""
            raise ConnectionError(f"{self.url} answered {response.status_code} {reason}".strip())

    async def _body(self, subscription: Subscription) -> AsyncIterator[bytes]:
        writer = TSWriter(subscription.tracks)
        async for frame in subscription:
            chunk = b"".join(
                [writer.write(frame), *(writer.write(f) for f in subscription.drain())]
            )
            self.bytes_sent += len(chunk)
            yield chunk
