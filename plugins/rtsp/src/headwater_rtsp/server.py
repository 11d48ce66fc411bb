"""The RTSP listener: a TCP server (the loop's ``create_server``) running one
:class:`~headwater_rtsp.connection.Connection` per client, and the shared UDP RTP/RTCP pair
(:class:`~headwater_rtsp.udp.UDPPair`) its sessions use for UDP transport."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus

from headwater import ClientTasks
from headwater_rtsp.connection import Connection
from headwater_rtsp.settings import RTSPSettings
from headwater_rtsp.udp import UDPPair
from headwater_rtsp.wire.auth import Authenticator

if TYPE_CHECKING:
    from headwater import ListenerSettings, Server

log = logging.getLogger("headwater.rtsp")


class RTSPListener:
    """One ``listeners.rtsp`` entry: TCP for RTSP, a UDP pair for RTP/RTCP."""

    def __init__(self, server: Server, settings: ListenerSettings) -> None:
        self.name = "rtsp"
        self.server = server
        self.listener_settings = settings
        self.settings: RTSPSettings = server.plugin_settings["rtsp"]
        self.auth = Authenticator(digest=self.settings.auth == "digest")
        self.addresses: list[tuple[str, int]] = []
        self.clients: ClientTasks[Connection]
        """The RTSP clients, bounded by the core's gate (made when serving starts)."""
        self.udp: UDPPair | None = None

    def _udp_ports(self, port: int) -> tuple[int, int]:
        extra = self.listener_settings.model_extra or {}
        if "rtp_port" in extra or "rtcp_port" in extra:
            return int(extra.get("rtp_port", 0)), int(extra.get("rtcp_port", 0))
        if port == 0:
            return 0, 0
        return self.settings.rtp_port, self.settings.rtcp_port

    async def serve(self, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind TCP and UDP, report the address, accept clients until cancelled."""
        self.clients = ClientTasks(self.server.connection_limits.gate(self.name))
        host, port = self.listener_settings.address
        loop = asyncio.get_running_loop()
        if self.settings.udp:
            self.udp = UDPPair()
            rtp, rtcp = self._udp_ports(port)
            await self.udp.open(host, rtp, rtcp, self.settings.udp_receive_buffer)
        try:
            listener = await loop.create_server(
                lambda: Connection(self, self.clients.start, self.clients.done),
                host,
                port,
                reuse_address=True,
                start_serving=False,
            )
        except OSError as exc:
            if self.udp is not None:
                self.udp.close()
            raise OSError(exc.errno, f"rtsp cannot listen on {host}:{port}: {exc}") from exc
        try:
            self.addresses = [sock.getsockname()[:2] for sock in listener.sockets]
            async with self.clients.running():
                await listener.start_serving()
                if self.udp is not None:
                    log.info("rtsp: RTP/RTCP over UDP on ports %d/%d", *self.udp.ports)
                task_status.started(self.addresses)
                try:
                    await anyio.sleep_forever()
                finally:
                    listener.close()
        finally:
            listener.close()
            if self.udp is not None:
                self.udp.close()
