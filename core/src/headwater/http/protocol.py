"""uvicorn's h11 connection with headwater's limits: connection gate, header deadline,
keep-alive timeout, and log lines that name the peer.

uvicorn gives a connection no deadline until its first response, and any byte resets the
keep-alive timer, so a client sending a header byte a second (slowloris) or nothing at all
holds its connection forever. Here every request's line and headers must arrive within
``limits.header_timeout`` of the connection opening or of the request's first byte;
between requests, ``limits.keepalive_timeout`` applies. The listener's
:class:`~headwater.connection_limits.ConnectionGate` admits each connection before uvicorn
sees it; a refused client gets ``503`` and is closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from headwater.connection_limits import ConnectionGate
    from headwater.server import Server

log = logging.getLogger("headwater.http")

_REFUSAL_TEXT = b"the server's connection limit is reached\n"
REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_REFUSAL_TEXT), _REFUSAL_TEXT)
)
"""What a client turned away by a connection limit reads."""


class PeerLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """uvicorn's logger with the client's address in front of each line."""

    @property
    def level(self) -> int:
        """The wrapped logger's level (uvicorn compares it)."""
        return self.logger.level

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        """Prefix the message with ``http HOST:PORT:``."""
        return f"{self.extra['peer']}: {msg}", kwargs


class GuardedH11Protocol(H11Protocol):
    """One HTTP connection (see the module docstring); made by :func:`protocol_class`."""

    hw_server: Server
    gate: ConnectionGate

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Admit the connection through the gate, or answer 503 and close it."""
        peer = transport.get_extra_info("peername") or ("", 0)
        self._ip, self._port = str(peer[0]), int(peer[1]) if len(peer) > 1 else 0
        self._deadline: asyncio.TimerHandle | None = None
        self._admitted = self.gate.admit(self._ip, self._port)
        if not self._admitted:
            transport.write(REFUSED)
            transport.close()
            return
        super().connection_made(transport)
        self.logger = PeerLogger(self.logger, {"peer": f"http {self._ip}:{self._port}"})
        self.timeout_keep_alive = float(self.hw_server.settings.limits.keepalive_timeout)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Release the connection's place at the gate."""
        if not self._admitted:
            return
        self._admitted = False
        self._disarm()
        self.gate.release(self._ip)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Start a request's header deadline at its first byte; stop it once the headers
        are in."""
        if not self._admitted:
            return
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()

    def on_response_complete(self) -> None:
        """Between requests only the keep-alive timeout applies."""
        self._disarm()
        super().on_response_complete()

    def timeout_keep_alive_handler(self) -> None:
        """An idle keep-alive connection ends (a normal close, logged at debug level)."""
        log.debug("http %s:%s closed: idle keep-alive", self._ip, self._port)
        super().timeout_keep_alive_handler()

    def _arm(self) -> None:
        self._disarm()
        timeout = float(self.hw_server.settings.limits.header_timeout)
        self._deadline = self.loop.call_later(timeout, self._headers_late, timeout)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self, timeout: float) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        log.info(
            "http %s:%s closed: request headers not complete within %gs",
            self._ip,
            self._port,
            timeout,
        )
        self.transport.abort()


def protocol_class(server: Server, gate: ConnectionGate) -> type[GuardedH11Protocol]:
    """The protocol class uvicorn instantiates per connection, bound to ``server``."""
    return type("HeadwaterHTTPProtocol", (GuardedH11Protocol,), {"hw_server": server, "gate": gate})
