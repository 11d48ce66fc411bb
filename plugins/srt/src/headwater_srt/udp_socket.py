"""The SRT listener's UDP sockets: bound non-blocking with a large kernel receive buffer,
and a sentence for the operator when the kernel gives less than was asked."""

from __future__ import annotations

import contextlib
import socket
import sys

RECV_BUFFER = 16 << 20
"""Kernel receive buffer asked for each socket, bytes (Linux doubles it for its own
bookkeeping). It holds what arrives while the process is busy elsewhere: 200 cameras at
0.5 Mbit/s fill 8 MB in about a quarter of a second, and a datagram the kernel drops
there must be asked for again (a NAK, a retransmission: more work for a server that is
already behind). A late datagram is still delivered; a dropped one may not be. Linux
caps the size at ``net.core.rmem_max`` unless the process may override it
(CAP_NET_ADMIN, ``SO_RCVBUFFORCE``); the size got is logged when it is smaller."""
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform.startswith("linux") else None)
"""Linux's option to set a receive buffer beyond ``net.core.rmem_max`` (the standard
library does not name it)."""


def bind_udp(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to ``host:port`` with a large receive buffer
    (:data:`RECV_BUFFER`; beyond ``net.core.rmem_max`` where the process may)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
        if receive_buffer(sock) < 2 * RECV_BUFFER and SO_RCVBUFFORCE is not None:
            with contextlib.suppress(OSError):  # not allowed: the capped size stays
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECV_BUFFER)
        sock.setblocking(False)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def receive_buffer(sock: socket.socket) -> int:
    """The socket's receive buffer as the kernel counts it, bytes (twice what was asked,
    on Linux)."""
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def receive_buffer_shortfall(sock: socket.socket) -> str | None:
    """A sentence for the operator when ``sock`` got less receive buffer than
    :data:`RECV_BUFFER` (the kernel's cap, ``net.core.rmem_max``), else None."""
    doubled = 2 if sys.platform.startswith("linux") else 1
    got = receive_buffer(sock) // doubled
    if got >= RECV_BUFFER:
        return None
    return (
        f"the kernel gave each SRT socket a receive buffer of {got / 1e6:.1f} MB where "
        f"{RECV_BUFFER / 1e6:.1f} MB were asked: bursts beyond it are dropped and must be "
        f"retransmitted. Raise the limit: sysctl -w net.core.rmem_max={RECV_BUFFER}"
    )
