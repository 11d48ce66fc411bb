"""The RTMP push client: re-publishes a stream to ``rtmp://`` or ``rtmps://`` URLs.

:class:`RTMPPusher` is a :class:`headwater.Consumer`: ``run`` connects, publishes the
frames of its subscription (sequence headers first, via :class:`PlayAdapter`) and
raises on any failure (refused, unreachable, closed, timed out) so the push plugin can
retry with back-off. URL form: ``rtmp://host[:port]/app/stream/name?query``; the first
path segment is the application, the rest the stream name (as ffmpeg splits it).
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
from anyio.abc import ByteStream

from headwater import ProtocolError
from headwater_rtmp.adapter import PlayAdapter
from headwater_rtmp.settings import RTMPSettings
from headwater_rtmp.wire import events as ev
from headwater_rtmp.wire.client_session import ClientSession

if TYPE_CHECKING:
    from headwater import Subscription

log = logging.getLogger("headwater.rtmp.push")

SCHEMES = {"rtmp": 1935, "rtmps": 443}


class PushError(ConnectionError):
    """The destination refused the publication or the connection failed."""


def split_url(url: str) -> tuple[str, int, bool, str, str]:
    """(host, port, tls, app, stream name with query) of an RTMP URL."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError(f"not an rtmp:// or rtmps:// URL: {url!r}")
    path = parts.path.lstrip("/")
    app, _, name = path.partition("/")
    if parts.query:
        name = f"{name}?{parts.query}"
    return parts.hostname, parts.port or SCHEMES[parts.scheme], parts.scheme == "rtmps", app, name


class RTMPPusher:
    """Publishes one stream to one RTMP destination (a push consumer)."""

    def __init__(self, url: str, settings: RTMPSettings | None = None) -> None:
        self.url = url
        self.name = f"rtmp-push {url}"
        self.settings = settings or RTMPSettings()
        self.host, self.port, self.tls, self.app, self.stream_name = split_url(url)

    def _tc_url(self) -> str:
        scheme = "rtmps" if self.tls else "rtmp"
        return f"{scheme}://{self.host}:{self.port}/{self.app}"

    async def _connect(self) -> ByteStream:
        try:
            if self.tls:
                context = ssl.create_default_context()
                return await anyio.connect_tcp(
                    self.host,
                    self.port,
                    tls=True,
                    ssl_context=context,
                    tls_standard_compatible=False,
                )
            return await anyio.connect_tcp(self.host, self.port)
        except OSError as exc:
            raise PushError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc

    async def run(self, subscription: Subscription) -> None:
        """Connect, publish until the subscription ends; raise :class:`PushError` on failure."""
        session = ClientSession(
            self.app, self._tc_url(), self.stream_name, chunk_size=self.settings.chunk_size
        )
        with anyio.fail_after(self.settings.connect_timeout):
            stream = await self._connect()
        async with stream:
            session.start()
            await stream.send(session.data_to_send())
            try:
                with anyio.fail_after(self.settings.connect_timeout):
                    await self._until_publishing(stream, session)
            except TimeoutError:
                raise PushError(f"{self.url}: no NetStream.Publish.Start in time") from None
            log.info("pushing %s to %s", subscription.stream.name, self.url)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._read_replies, stream, session)
                await self._send_frames(stream, session, subscription)
                session.finish()
                await stream.send(session.data_to_send())
                tg.cancel_scope.cancel()

    async def _receive(self, stream: ByteStream, session: ClientSession, closed: str) -> list[Any]:
        """Read once from the destination and return the session's events; closing or bad
        bytes become a :class:`PushError` (``closed`` says when the connection went away)."""
        try:
            data = await stream.receive(1 << 16)
        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError) as exc:
            raise PushError(f"{self.url}: {closed}") from exc
        try:
            return session.receive_data(data)
        except ProtocolError as exc:
            raise PushError(f"{self.url}: {exc}") from exc

    async def _until_publishing(self, stream: ByteStream, session: ClientSession) -> None:
        while True:
            events = await self._receive(stream, session, "connection closed before publishing")
            out = session.data_to_send()
            if out:
                await stream.send(out)
            for event in events:
                if isinstance(event, ev.Refused):
                    raise PushError(f"{self.url} refused: {event.code} {event.description}")
                if isinstance(event, ev.PublishStarted):
                    return

    async def _read_replies(self, stream: ByteStream, session: ClientSession) -> None:
        """Keep reading (acks, pings, a late refusal) so the server's window never stalls."""
        while True:
            for event in await self._receive(stream, session, "destination closed the connection"):
                if isinstance(event, ev.Refused):
                    raise PushError(f"{self.url}: {event.code} {event.description}")

    async def _send_frames(
        self, stream: ByteStream, session: ClientSession, subscription: Subscription
    ) -> None:
        adapter = PlayAdapter(self.settings.multitrack)
        metadata = adapter.metadata_for(subscription.stream.metadata or {})
        if metadata:
            session.send_metadata(metadata)
        send = session.send_media
        async for frame in subscription:
            batch: list[Any] = [frame, *subscription.drain()]
            for item in batch:
                for tag in adapter.messages(item):
                    send(tag.kind, tag.timestamp, tag.data)
            data = session.data_to_send()
            if data:
                try:
                    with anyio.fail_after(self.settings.send_timeout):
                        await stream.send(data)
                except (anyio.BrokenResourceError, OSError) as exc:
                    raise PushError(f"{self.url}: write failed: {exc}") from exc
                except TimeoutError:
                    raise PushError(f"{self.url}: destination stopped reading") from None
