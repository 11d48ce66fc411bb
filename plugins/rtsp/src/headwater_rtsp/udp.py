"""The UDP side of an RTSP listener: one RTP and one RTCP socket shared by every session.

Packets are routed by their source address: a session registers the client's
``(ip, rtp port)`` and ``(ip, rtcp port)`` from its Transport header when it starts
recording or playing, and unregisters when it ends; packets from anyone else are dropped
and counted. Sends never block (UDP): a player that cannot keep up loses packets.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("headwater.rtsp")

Route = Callable[[bytes, float], None]
"""Called with a datagram and the monotonic time it arrived."""


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, routes: dict[tuple[str, int], Route], pair: UDPPair) -> None:
        self.routes = routes
        self.pair = pair
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        route = self.routes.get(addr if len(addr) == 2 else (addr[0], addr[1]))  # IPv6: 4
        if route is None:
            self.pair.strays += 1
            return
        try:
            route(data, time.monotonic())
        except Exception:  # one session's failure must not stop the shared socket
            log.exception("rtsp: UDP packet from %s:%s", addr[0], addr[1])

    def error_received(self, exc: Exception) -> None:
        """ICMP errors (a player that went away) are expected; the session times out."""


class UDPPair:
    """The shared RTP/RTCP sockets of one RTSP listener."""

    def __init__(self) -> None:
        self.rtp_routes: dict[tuple[str, int], Route] = {}
        self.rtcp_routes: dict[tuple[str, int], Route] = {}
        self.strays = 0
        """Datagrams from addresses no session registered."""
        self._rtp = _Endpoint(self.rtp_routes, self)
        self._rtcp = _Endpoint(self.rtcp_routes, self)
        self.ports: tuple[int, int] = (0, 0)

    async def open(self, host: str, rtp_port: int, rtcp_port: int, buffer: int) -> None:
        """Bind both sockets (an ephemeral even/odd pair when both ports are 0)."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if rtp_port == 0:
            socks = _ephemeral_pair(host, family)
        else:
            socks = [_bind(host, rtp_port, family), _bind(host, rtcp_port, family)]
        for sock in socks:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
            except OSError:
                log.warning("rtsp: cannot set a UDP receive buffer of %d bytes", buffer)
        await loop.create_datagram_endpoint(lambda: self._rtp, sock=socks[0])
        await loop.create_datagram_endpoint(lambda: self._rtcp, sock=socks[1])
        self.ports = (socks[0].getsockname()[1], socks[1].getsockname()[1])

    def close(self) -> None:
        """Close both sockets."""
        for endpoint in (self._rtp, self._rtcp):
            if endpoint.transport is not None:
                endpoint.transport.close()

    def send_rtp(self, addr: tuple[str, int], data: bytes) -> None:
        """Send one RTP packet (dropped if the socket is closed)."""
        transport = self._rtp.transport
        if transport is not None and not transport.is_closing():
            transport.sendto(data, addr)

    def send_rtcp(self, addr: tuple[str, int], data: bytes) -> None:
        """Send one RTCP packet (dropped if the socket is closed)."""
        transport = self._rtcp.transport
        if transport is not None and not transport.is_closing():
            transport.sendto(data, addr)


def _bind(host: str, port: int, family: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"rtsp cannot bind UDP {host}:{port}: {exc}") from exc
    return sock


def _ephemeral_pair(host: str, family: int) -> list[socket.socket]:
    """An even RTP port and the odd port above it (RFC 3550 11), or any two ports."""
    for _ in range(20):
        first = _bind(host, 0, family)
        port = first.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            try:
                return [first, _bind(host, port + 1, family)]
            except OSError:
                pass
        first.close()
    return [_bind(host, 0, family), _bind(host, 0, family)]
