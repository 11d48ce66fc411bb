"""uvicorn's httptools connection with headwater's limits: connection gate, header deadline,
header size, keep-alive timeout, log lines that name the peer, and a way for a streaming
body to be read in batches.

httptools (llhttp, in C) parses heads and chunked bodies; uvicorn's pure-Python h11 parser
cost a fifth of the server's CPU under ffmpeg's HTTP MPEG-TS publishers (a Python event per
body chunk, and several copies of each). llhttp sets no bound on a head, and httptools
joins a header split across reads by concatenation, so the head's size is bounded here:
a request whose line and headers pass :data:`MAX_HEAD_BYTES` gets ``431`` and is closed.

uvicorn gives a connection no deadline until its first response, and any byte resets the
keep-alive timer, so a client sending a header byte a second (slowloris) or nothing at all
holds its connection forever. Here every request's line and headers must arrive within
``limits.header_timeout`` of the connection opening or of the request's first byte;
between requests, ``limits.keepalive_timeout`` applies. The listener's
:class:`~headwater.connection_limits.ConnectionGate` admits each connection before uvicorn
sees it; a refused client gets ``503`` and is closed.

Each request's ASGI scope carries ``scope["extensions"]["headwater.pause_reading"]``, a
callable that stops reading the connection until the application next awaits ``receive()``
(which resumes it). A long streaming body (HTTP MPEG-TS publishing, one small chunk per
frame from ffmpeg) pauses after each small read, so the kernel gathers the next chunks and
one read, one parse pass and one wake-up of the application serve all of them. The
body pieces that arrive between two ``receive()`` calls are kept as they came and joined
once when the application takes them (uvicorn appends each to a ``bytearray``, whose
reallocations copied a batch of ffmpeg's chunks several times over, and then copies it
once more into ``bytes``).

``scope["extensions"]["headwater.body_sink"]`` takes the rest of a body off ASGI: the
application registers a :class:`~headwater.http.body_tap.BodySink`, and from then on each
read's body pieces go to it from ``data_received`` (one call per read), then the end or
the client's leaving (:mod:`headwater.http.body_tap`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from headwater.http.body_tap import BODY_ENDED, BODY_SINK, CLIENT_LEFT, TAP_BOUND, BodySink, BodyTap

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
MAX_HEAD_BYTES = 16 << 10
"""Largest request line plus headers (h11's default bound, which uvicorn used before)."""
_HEAD_TEXT = b"the request line and headers are larger than %d bytes\n" % MAX_HEAD_BYTES
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_HEAD_TEXT), _HEAD_TEXT)
)


class PeerLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """uvicorn's logger with the client's address in front of each line."""

    @property
    def level(self) -> int:
        """The wrapped logger's level (uvicorn compares it)."""
        return self.logger.level

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        """Prefix the message with ``http HOST:PORT:``."""
        return f"{self.extra['peer']}: {msg}", kwargs


PAUSE_READING = "headwater.pause_reading"
"""The ASGI scope extension that pauses reading until the next ``receive()``."""


class BodyPieces:
    """The body pieces a request received since the application's last ``receive()``.

    Stands in for uvicorn's ``cycle.body`` bytearray: ``len`` is the bytes held and
    ``bytes()`` (what uvicorn's ``receive`` calls) joins the pieces once, or hands over a
    lone piece as it is.
    """

    __slots__ = ("pieces", "size")

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        pieces = self.pieces
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class GuardedProtocol(HttpToolsProtocol):
    """One HTTP connection (see the module docstring); made by :func:`protocol_class`."""

    hw_server: Server
    gate: ConnectionGate

    @property
    def scope(self) -> Any:
        """The current request's ASGI scope (uvicorn builds it as each request begins)."""
        return self._hw_scope

    @scope.setter
    def scope(self, scope: Any) -> None:
        # uvicorn assigns each request's scope before it hands it to the application: the
        # one place to add our extension without copying its request handling
        if scope is not None:
            extensions = scope.setdefault("extensions", {})
            extensions[PAUSE_READING] = self._pause_reading
            extensions[BODY_SINK] = self._take_body
        self._hw_scope = scope

    def _take_body(self, sink: BodySink) -> BodyTap:
        """Send the rest of the current request's body to ``sink`` (see
        :mod:`headwater.http.body_tap`): first what arrived since the last ``receive()``,
        then each read's pieces, then the end. A body that already ended (or a client that
        already left) is told so at once, and the tap comes back released."""
        cycle = self.cycle
        tap = BodyTap(self, sink)
        held = cycle.body
        if held:
            cycle.body = bytearray()
            sink.body_received(bytes(held))
        if cycle.disconnected or self.transport.is_closing():
            tap.release()
            sink.body_ended(CLIENT_LEFT)
        elif not cycle.more_body:
            tap.release()
            sink.body_ended(BODY_ENDED)
        else:
            self._tap = tap
            self.flow.resume_reading()  # paused above the high-water mark, or by a route
        return tap

    def drop_tap(self, tap: BodyTap) -> None:
        """Forget ``tap`` (released by its route): the body goes to ``receive()`` again."""
        if self._tap is tap:
            self._tap = None
            flow = self.flow
            if flow is not None and not self.transport.is_closing():
                flow.resume_reading()

    def _pause_reading(self) -> None:
        """Stop reading until the application's next ``receive()`` (uvicorn resumes then)."""
        flow = self.flow
        if flow is not None and not self.transport.is_closing():
            flow.pause_reading()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Admit the connection through the gate, or answer 503 and close it."""
        peer = transport.get_extra_info("peername") or ("", 0)
        self._ip, self._port = str(peer[0]), int(peer[1]) if len(peer) > 1 else 0
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._tap: BodyTap | None = None
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
        tap = self._tap
        if tap is not None:
            self._tap = None
            tap.release()
            self._sink_call(tap.sink.body_ended, CLIENT_LEFT)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Start a request's header deadline at its first byte; stop it once the headers
        are in."""
        if not self._admitted:
            return
        tap = self._tap
        if tap is not None:  # a body going to a sink: parse, then hand this read's pieces over
            HttpToolsProtocol.data_received(self, data)
            if self._tap is tap:  # not ended, left or released by this read
                self._sink_call(tap.deliver)
            return
        in_head = self.cycle is None or self.cycle.response_complete
        if in_head and self._deadline is None:
            self._arm()
            self._head_bytes = 0
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()
        elif in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                log.info(
                    "http %s:%s closed: request line and headers larger than %d bytes",
                    self._ip,
                    self._port,
                    MAX_HEAD_BYTES,
                )
                self._disarm()
                self.transport.write(HEAD_TOO_LARGE)
                self.transport.close()

    def on_body(self, body: bytes) -> None:
        """Keep a body piece for the application's next ``receive()`` (uvicorn's own
        ``on_body`` but for the :class:`BodyPieces` in place of its bytearray), or add it to
        the read's pieces for the body's sink."""
        tap = self._tap
        if tap is not None:
            tap.pieces.append(body)
            tap.size += len(body)
            if tap.size > TAP_BOUND:
                self._sink_call(tap.deliver)
            return
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        held = cycle.body
        if type(held) is not BodyPieces:
            fresh = BodyPieces()
            if held:
                fresh.pieces.append(bytes(held))
                fresh.size = len(held)
            held = cycle.body = fresh
        held.pieces.append(body)
        held.size += len(body)
        if held.size > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def on_message_complete(self) -> None:
        """The body's last byte came: a sink gets what is held, then the end."""
        tap = self._tap
        if tap is None:
            super().on_message_complete()
            return
        self._tap = None
        self.cycle.more_body = False
        if tap.pieces:
            self._sink_call(tap.deliver)
        tap.release()
        self._sink_call(tap.sink.body_ended, BODY_ENDED)

    def _sink_call(self, method: Any, *args: Any) -> None:
        """Call a body sink; a sink that raises (it must not) closes its connection."""
        try:
            method(*args)
        except Exception:
            log.exception("http %s:%s closed: the request body's sink failed", self._ip, self._port)
            tap = self._tap
            self._tap = None
            self.transport.abort()
            if tap is not None:  # the route waits for the end: tell it the client is gone
                tap.release()
                try:
                    tap.sink.body_ended(CLIENT_LEFT)
                except Exception:
                    log.exception("http %s:%s: the body sink failed", self._ip, self._port)

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


def protocol_class(server: Server, gate: ConnectionGate) -> type[GuardedProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to ``server``."""
    return type("HeadwaterHTTPProtocol", (GuardedProtocol,), {"hw_server": server, "gate": gate})
