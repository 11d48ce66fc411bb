"""A request body handed straight to the application, one call per socket read, not through
ASGI ``receive()`` messages.

A long streaming body (HTTP MPEG-TS publishing: ffmpeg sends a small chunk per muxed frame
for as long as the encoder runs) costs, on the ASGI path, per read: a ``message_event`` set
per chunk, a wake-up of the application's task, a ``receive()`` round trip with its message
dict and a join, and a sleep with its timer to gather the next read. A route that takes the
rest of a body through ``scope["extensions"]["headwater.body_sink"]`` (a call with its
:class:`BodySink`) gets instead, from inside the connection's ``data_received``: the body
bytes each read brought, joined once (:meth:`BodySink.body_received`), then the end
(:meth:`BodySink.body_ended`: ``"body ended"`` or ``"client left"``). httptools (llhttp, C)
still parses the chunked framing; only what happens to each piece changes.

The call returns a :class:`BodyTap`, the route's hold on the connection: pause and resume
reading (a route batches reads on a timer of its own), close it on a fault, and
:meth:`BodyTap.release` to give the rest of the body back to ``receive()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from headwater.http.protocol import GuardedProtocol

BODY_SINK = "headwater.body_sink"
"""The ASGI scope extension that hands the rest of the request body to a :class:`BodySink`."""
BODY_ENDED = "body ended"
""":meth:`BodySink.body_ended`'s reason when the body's last byte arrived."""
CLIENT_LEFT = "client left"
""":meth:`BodySink.body_ended`'s reason when the connection closed before the body ended."""
TAP_BOUND = 1 << 20
"""Body bytes held for a sink before they are handed over within a read: a read brings at
most what the transport reads at once (256 KiB under uvloop), so this bounds only a read
that a future transport makes larger."""


class BodySink(Protocol):
    """What takes a request body from :data:`BODY_SINK` (called on the event loop, from the
    connection's callbacks: nothing here may block or raise)."""

    def body_received(self, data: bytes) -> None:
        """The body bytes one read brought, in order; empty when a read brought only the
        chunked framing (a chunk's size line), so that a sink that paces its reads can
        pause after such a read too."""

    def body_ended(self, reason: str) -> None:
        """No more body: ``"body ended"`` (its last byte came) or ``"client left"``."""


class BodyTap:
    """A route's hold on the connection whose body goes to its sink (see the module
    docstring); made by the HTTP server when the route registers the sink."""

    __slots__ = ("_protocol", "pieces", "sink", "size")

    def __init__(self, protocol: GuardedProtocol, sink: BodySink) -> None:
        self._protocol: GuardedProtocol | None = protocol
        self.sink = sink
        self.pieces: list[bytes] = []
        """Body pieces the current read brought so far (httptools hands one per chunk)."""
        self.size = 0
        """Bytes in :attr:`pieces` (bounded by :data:`TAP_BOUND`)."""

    @property
    def attached(self) -> bool:
        """Whether body bytes still come to the sink (false once ended or released)."""
        return self._protocol is not None

    def deliver(self) -> None:
        """Hand the pieces held to the sink, joined once (the connection calls this at the
        end of each read, b"" if the read brought none, and when the body ends)."""
        pieces = self.pieces
        if pieces:
            data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
            self.pieces = []
            self.size = 0
            self.sink.body_received(data)
        else:
            self.sink.body_received(b"")

    def pause_reading(self) -> None:
        """Stop reading the connection until :meth:`resume_reading`."""
        protocol = self._protocol
        if protocol is not None and not protocol.transport.is_closing():
            protocol.flow.pause_reading()

    def resume_reading(self) -> None:
        """Read the connection again (whatever the kernel gathered comes in one read)."""
        protocol = self._protocol
        if protocol is not None and not protocol.transport.is_closing():
            protocol.flow.resume_reading()

    def abort(self) -> None:
        """Close the connection at once (a fault of this client's; no more callbacks)."""
        protocol = self._protocol
        if protocol is not None:
            self.release()
            protocol.transport.abort()

    def release(self) -> None:
        """Give the rest of the body back to ASGI ``receive()`` (reading resumes; the sink
        gets nothing more). Idempotent."""
        protocol = self._protocol
        if protocol is not None:
            self._protocol = None
            protocol.drop_tap(self)
