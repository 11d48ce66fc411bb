"""The HTTP listener: uvicorn serving the app on a socket the core binds itself."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import anyio
import uvicorn
from anyio.abc import TaskStatus

from headwater.config.models import ListenerSettings

if TYPE_CHECKING:
    from headwater.server import Server

log = logging.getLogger("headwater.http")


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the headwater CLI owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind_tcp(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket (IPv4 or IPv6 by the host's form), reuse-address on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class HTTPListener:
    """Serves the ASGI app of the server on one address."""

    name = "http"

    def __init__(self, server: Server, settings: ListenerSettings) -> None:
        self.server = server
        self.settings = settings
        self.addresses: list[tuple[str, int]] = []

    async def serve(self, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the address, then serve HTTP until cancelled."""
        from headwater.http.app import serving_app
        from headwater.http.protocol import protocol_class

        host, port = self.settings.address
        try:
            sock = bind_tcp(host, port)
        except OSError as exc:
            raise OSError(
                exc.errno, f"http cannot listen on {host}:{port}: {exc.strerror}"
            ) from exc
        self.addresses = [sock.getsockname()[:2]]
        config = uvicorn.Config(
            serving_app(self.server),
            http=protocol_class(self.server, self.server.connection_limits.gate(self.name)),
            log_level="warning",
            log_config=None,  # uvicorn's records go through headwater's handler (text or JSON)
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=int(self.server.settings.limits.keepalive_timeout) or 1,
            ws="none",
        )
        server = _EmbeddedUvicorn(config)
        task_status.started(self.addresses)
        try:
            await server.serve(sockets=[sock])
        finally:
            # Cancelled, uvicorn skips its shutdown: stop its asyncio servers ourselves before
            # closing the socket, or the event loop keeps a stale registration for the file
            # descriptor and a listener reopened on the same fd number never accepts.
            for asyncio_server in getattr(server, "servers", []):
                asyncio_server.close()
            sock.close()
