"""The RTMP/RTMPS listener: binds with the event loop's ``create_server`` (TLS through its
``ssl=``) and runs one :class:`~headwater_rtmp.connection.Connection` per client.

headwater runs on asyncio (uvloop from the CLI), so the listener speaks to the loop's
protocol API directly: the loop calls the connection with every read, and each connection's
control task runs in this listener's task group, so cancelling :meth:`RTMPListener.serve`
closes the socket and every client. The listener's players share one
:class:`~headwater_rtmp.play_scheduler.PlayScheduler` (one callback for all of their writes),
and its connections one :class:`~headwater.SharedTick` per interval (one timer for
every paused read and every player's rest, one for every connection's watchdog).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus

from headwater import ClientTasks, SharedTick
from headwater_rtmp.connection import Connection, watchdog_interval
from headwater_rtmp.play_scheduler import PlayScheduler
from headwater_rtmp.settings import RTMPSettings

if TYPE_CHECKING:
    from headwater import ListenerSettings, Server

log = logging.getLogger("headwater.rtmp")


class RTMPListener:
    """One ``listeners.rtmp`` (or ``listeners.rtmps``, with TLS) entry."""

    def __init__(self, server: Server, settings: ListenerSettings, tls: bool = False) -> None:
        self.name = "rtmps" if tls else "rtmp"
        self.server = server
        self.settings = settings
        self.tls = tls
        self.addresses: list[tuple[str, int]] = []
        self.clients: ClientTasks[Connection] = ClientTasks(
            server.connection_limits.gate(self.name)
        )

    async def serve(self, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the address, accept connections until cancelled."""
        host, port = self.settings.address
        context = self._tls_context() if self.tls else None
        settings: RTMPSettings = self.server.plugin_settings["rtmp"]
        loop = asyncio.get_running_loop()
        scheduler = PlayScheduler() if settings.play_interval else None
        read_ticker = (
            SharedTick(settings.read_interval, "rtmp read") if settings.read_interval else None
        )
        play_ticker: SharedTick | None = None
        if settings.play_interval:
            same = read_ticker is not None and settings.play_interval == settings.read_interval
            play_ticker = read_ticker if same else SharedTick(settings.play_interval, "rtmp play")
        watch_ticker = SharedTick(watchdog_interval(self.server, settings), "rtmp watchdog")

        def connection() -> Connection:
            return Connection(
                self.server,
                settings,
                self.name,
                self.clients.start,
                self.clients.done,
                scheduler,
                read_ticker,
                play_ticker,
                watch_ticker,
            )

        try:
            listener = await loop.create_server(
                connection,
                host,
                port,
                ssl=context,
                ssl_handshake_timeout=self.server.settings.limits.handshake_timeout
                if context
                else None,
                reuse_address=True,
                start_serving=False,
            )
        except OSError as exc:
            raise OSError(exc.errno, f"{self.name} cannot listen on {host}:{port}: {exc}") from exc
        try:
            self.addresses = [sock.getsockname()[:2] for sock in listener.sockets]
            async with self.clients.running():
                await listener.start_serving()
                task_status.started(self.addresses)
                try:
                    await anyio.sleep_forever()
                finally:
                    listener.close()
        finally:
            listener.close()

    def _tls_context(self) -> ssl.SSLContext:
        if not self.settings.cert or not self.settings.key:
            raise ValueError(f"listeners.{self.name} needs `cert` and `key`")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.settings.cert, self.settings.key)
        return context
