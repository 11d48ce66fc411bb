"""Free loopback ports for servers that cannot bind port 0 and tell us which they got."""

from __future__ import annotations

import socket


def free_ports(count: int, kind: int = socket.SOCK_STREAM) -> list[int]:
    """``count`` distinct ports of 127.0.0.1 that the kernel just handed out as free.

    The sockets are closed before the ports are returned, so another process could take
    one in between; on a loopback test machine that does not happen in practice, and a
    server that fails to bind says so at start.
    """
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
