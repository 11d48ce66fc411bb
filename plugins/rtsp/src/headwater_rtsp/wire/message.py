"""RTSP 1.0 messages on the wire (RFC 2326 sections 4, 6, 7 and 10.12; RFC 7826 section 14
for interleaved data): requests, responses and ``$``-framed binary data, parsed from a byte
stream and written back.

:class:`MessageReader` takes bytes as they arrive, in any split, and returns whole
:class:`Request`, :class:`Response` and :class:`Interleaved` events; pipelined requests and
interleaved frames mixed with requests on one connection come out in order. Header block,
body and interleaved sizes are bounded; anything malformed raises :class:`RTSPError`, a
remote :class:`~headwater.errors.ProtocolError` carrying the status to answer with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from headwater import ProtocolError

_METHOD = re.compile(r"[A-Z][A-Z_\-]{0,31}")

VERSION = "RTSP/1.0"
MAX_HEADER_BYTES = 16 << 10
"""Default bound of a request line plus headers."""
MAX_BODY_BYTES = 64 << 10
"""Default bound of a body (an SDP is a few hundred bytes)."""

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    451: "Parameter Not Understood",
    453: "Not Enough Bandwidth",
    454: "Session Not Found",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    460: "Only Aggregate Operation Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "RTSP Version Not Supported",
}


class RTSPError(ProtocolError):
    """A peer sent something RTSP does not allow; ``status`` is the reply it deserves."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Headers:
    """RTSP headers: case-insensitive lookup, original spelling and order kept for writing."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name`` (any case), or ``default``."""
        low = name.lower()
        for key, value in self._items:
            if key.lower() == low:
                return value
        return default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        low = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != low]
        self._items.append((name, value))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(slots=True)
class Request:
    """An RTSP request: ``method url RTSP/1.0``, headers, an optional body."""

    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def cseq(self) -> str | None:
        """The ``CSeq`` header, echoed in the response."""
        return self.headers.get("CSeq")

    def to_bytes(self) -> bytes:
        """The request as it goes on the wire (``Content-Length`` set from the body)."""
        return _serialize(f"{self.method} {self.url} {VERSION}", self.headers, self.body)


@dataclass(slots=True)
class Response:
    """An RTSP response: ``RTSP/1.0 status reason``, headers, an optional body."""

    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    reason: str = ""

    def to_bytes(self) -> bytes:
        """The response as it goes on the wire (``Content-Length`` set from the body)."""
        reason = self.reason or REASONS.get(self.status, "Unknown")
        return _serialize(f"{VERSION} {self.status} {reason}", self.headers, self.body)


@dataclass(slots=True)
class Interleaved:
    """One ``$``-framed binary packet on the RTSP connection (RTP or RTCP of a channel)."""

    channel: int
    data: bytes

    def to_bytes(self) -> bytes:
        """``$``, the channel, the 16-bit length, the data."""
        return interleaved(self.channel, self.data)


def interleaved(channel: int, data: bytes) -> bytes:
    """Frame ``data`` for interleaved channel ``channel`` (RFC 2326 10.12)."""
    if len(data) > 0xFFFF:
        raise ValueError(f"interleaved packet of {len(data)} bytes exceeds 65535")
    return b"$" + bytes((channel,)) + len(data).to_bytes(2, "big") + data


def _serialize(start: str, headers: Headers, body: bytes) -> bytes:
    lines = [start]
    for name, value in headers:
        if name.lower() != "content-length":
            lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


Event = Request | Response | Interleaved


class MessageReader:
    """Turn a byte stream from one peer into requests, responses and interleaved packets."""

    def __init__(
        self, max_header_bytes: int = MAX_HEADER_BYTES, max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self._buf = bytearray()
        self._pending: Request | Response | None = None
        self._body_size = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data``; return every message it completes, in order."""
        buf = self._buf
        buf += data
        out: list[Event] = []
        pos = 0
        size = len(buf)
        while pos < size:
            pending = self._pending
            if pending is not None:
                end = pos + self._body_size
                if end > size:
                    break
                pending.body = bytes(buf[pos:end])
                out.append(pending)
                self._pending = None
                pos = end
                continue
            if buf[pos] == 0x24:  # "$"
                if pos + 4 > size:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                end = pos + 4 + length
                if end > size:
                    break
                out.append(Interleaved(buf[pos + 1], bytes(buf[pos + 4 : end])))
                pos = end
                continue
            if buf[pos] in b"\r\n":  # stray line ends between messages are allowed
                pos += 1
                continue
            end = buf.find(b"\r\n\r\n", pos, pos + self.max_header_bytes)
            if end < 0:
                lf = buf.find(b"\n\n", pos, pos + self.max_header_bytes)
                if lf >= 0:
                    end, sep = lf, 2
                else:
                    if size - pos >= self.max_header_bytes:
                        del buf[:]
                        raise RTSPError(
                            f"header block longer than {self.max_header_bytes} bytes", 400
                        )
                    break
            else:
                sep = 4
            message = _parse_head(bytes(buf[pos:end]))
            pos = end + sep
            length = message.headers.get("Content-Length")
            if length is None:
                out.append(message)
                continue
            try:
                body_size = int(length.strip())
            except ValueError:
                raise RTSPError(f"bad Content-Length {length!r}") from None
            if body_size < 0:
                raise RTSPError(f"bad Content-Length {length!r}")
            if body_size > self.max_body_bytes:
                raise RTSPError(f"body of {body_size} bytes exceeds {self.max_body_bytes}", 413)
            if body_size == 0:
                out.append(message)
                continue
            self._pending = message
            self._body_size = body_size
        del buf[:pos]
        return out


def _parse_head(head: bytes) -> Request | Response:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise RTSPError("header block is not UTF-8") from None
    lines = text.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:  # folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or " " in name.strip():
            raise RTSPError(f"malformed header line {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
    parts = start.split(" ", 2)
    if len(parts) == 3 and parts[0].startswith("RTSP/"):
        if parts[0] != VERSION:
            raise RTSPError(f"unsupported version {parts[0]!r}", 505)
        if not (len(parts[1]) == 3 and parts[1].isdigit()):
            raise RTSPError(f"malformed status line {start[:80]!r}")
        return Response(int(parts[1]), Headers(headers), reason=parts[2])
    if len(parts) == 2 and parts[0] == VERSION and len(parts[1]) == 3 and parts[1].isdigit():
        return Response(int(parts[1]), Headers(headers))
    if len(parts) != 3 or not _METHOD.fullmatch(parts[0]):
        raise RTSPError(f"malformed request line {start[:80]!r}")
    if parts[2] != VERSION:
        raise RTSPError(f"unsupported version {parts[2][:20]!r}", 505)
    return Request(parts[0], parts[1], Headers(headers))
