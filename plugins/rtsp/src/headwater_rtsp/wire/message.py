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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from headwater import ProtocolError, shown

if TYPE_CHECKING:
    from headwater import ByteBudget

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
Packet = tuple[int, memoryview | bytes]
"""An interleaved frame on the media path: (channel, RTP or RTCP packet)."""


class MessageReader:
    """Turn a byte stream from one peer into requests, responses and interleaved packets.

    Each :meth:`feed` takes the caller's clock (``now``); :meth:`oldest_started` is the
    ``now`` of the first byte of the message still unfinished, so that the connection can
    close a peer whose request head and body (or interleaved frame) take longer than
    ``limits.message_timeout``: bytes alone extend nothing. The search for the end of a
    header block resumes where the previous read left it, so a head dripped a byte at a
    time costs linear work (:attr:`scanned` counts it). With ``budget`` (the server-wide
    :class:`~headwater.byte_budget.ByteBudget`) the bytes held for an unfinished message
    are counted against ``limits.max_buffered_bytes``; when the budget evicts this reader,
    :attr:`on_evicted` is called and every later :meth:`feed` fails.
    """

    def __init__(
        self,
        max_header_bytes: int = MAX_HEADER_BYTES,
        max_body_bytes: int = MAX_BODY_BYTES,
        budget: ByteBudget | None = None,
    ) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.budget = budget
        self._buf = bytearray()
        self._pending: Request | Response | None = None
        self._body_size = 0
        self._scan = 0
        """Bytes of the unfinished head already searched for its end."""
        self._started: float | None = None
        self._taken = 0
        """Bytes taken from ``budget`` so far."""
        self.scanned = 0
        """Bytes examined by header-end searches so far (work, for the linearity tests)."""
        self.evicted: str | None = None
        """Why the budget evicted this reader (then every :meth:`feed` fails), or None."""
        self.on_evicted: Callable[[str], None] | None = None
        """Called with the reason when the budget evicts this reader (to close the peer)."""

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole message."""
        return len(self._buf)

    def oldest_started(self) -> float | None:
        """The ``now`` at which the unfinished message's first byte arrived, or None."""
        return self._started

    def feed(self, data: bytes, now: float = 0.0) -> list[Event]:
        """Consume ``data`` (arrived at ``now``); return every message it completes, in order."""
        packets, rest = self.feed_packets(data, now)
        out: list[Event] = [Interleaved(channel, bytes(packet)) for channel, packet in packets]
        for item in rest:
            out.append(Interleaved(item[0], bytes(item[1])) if type(item) is tuple else item)
        return out

    def feed_packets(
        self, data: bytes, now: float = 0.0
    ) -> tuple[list[Packet], list[Event | Packet]]:
        """:meth:`feed` for the media path: the same messages in the same order, split in
        two lists: the interleaved frames that come first (``(channel, packet)`` tuples
        whose packet is a zero-copy ``memoryview`` of ``data``, or ``bytes`` for a frame
        that straddled two reads), then everything from the first request or response on
        (messages, and frames as such tuples), which is usually empty.

        The frames of one read are found in one pass over ``data`` itself: nothing is
        copied but the unfinished tail, and what follows a request goes the buffered way.
        ``data`` must not change afterwards (``bytes``, as the event loop hands it over).
        """
        if self.evicted is not None:
            raise RTSPError(self.evicted, 503)
        if type(data) is not bytes:
            data = bytes(data)
        packets: list[Packet] = []
        rest: list[Event | Packet] = []
        buf = self._buf
        pos = 0
        size = len(data)
        if buf or self._pending is not None:
            finished, pos = self.finish_frame(data)
            if not pos:
                self._parse(data, rest, now)
                return packets, rest
            packets.append(finished)  # type: ignore[arg-type]
        view = memoryview(data)
        append = packets.append
        while pos < size:
            if data[pos] != 0x24:  # a request or a stray line end among the frames
                if packets:
                    self._started = None
                self._parse(view[pos:], rest, now)
                return packets, rest
            if pos + 4 > size:
                break
            end = pos + 4 + ((data[pos + 2] << 8) | data[pos + 3])
            if end > size:
                break
            append((data[pos + 1], view[pos + 4 : end]))
            pos = end
        if packets:
            self._started = None
        if pos < size:
            buf += view[pos:]
            if self._started is None:
                self._started = now
        if self.budget is not None and (buf or self._taken):
            self._account()
        return packets, rest

    def finish_frame(self, data: bytes) -> tuple[Packet | None, int]:
        """When what is buffered is the start of an interleaved frame (the previous read cut
        it) and ``data`` holds the rest, take just that rest: return the frame and how many
        bytes of ``data`` it took. Otherwise return ``(None, 0)`` and change nothing."""
        buf = self._buf
        have = len(buf)
        if self._pending is not None or not have or buf[0] != 0x24 or have + len(data) < 4:
            return None, 0
        head = bytes(buf[:4]) if have >= 4 else bytes(buf) + data[: 4 - have]
        need = 4 + ((head[2] << 8) | head[3]) - have
        if need <= 0 or need > len(data):
            return None, 0
        buf += data[:need]
        frame = (buf[1], bytes(buf[4:]))
        del buf[:]
        self._started = None
        if self.budget is not None:
            self._account()
        return frame, need

    def _parse(self, data: bytes | memoryview, out: list[Event | Packet], now: float) -> None:
        """Append ``data`` to the buffer and take every whole message from it."""
        buf = self._buf
        buf += data
        pos = 0
        size = len(buf)
        try:
            while pos < size:
                pending = self._pending
                if pending is not None:
                    end = pos + self._body_size
                    if end > size:
                        break
                    pending.body = bytes(buf[pos:end])
                    out.append(pending)
                    self._pending = None
                    self._started = None
                    pos = end
                    continue
                if buf[pos] == 0x24:  # "$"
                    if pos + 4 > size:
                        break
                    length = (buf[pos + 2] << 8) | buf[pos + 3]
                    end = pos + 4 + length
                    if end > size:
                        break
                    out.append((buf[pos + 1], bytes(buf[pos + 4 : end])))
                    self._started = None
                    pos = end
                    continue
                if buf[pos] in b"\r\n":  # stray line ends between messages are allowed
                    pos += 1
                    continue
                end, sep = self._head_end(buf, pos, size)
                if end < 0:
                    if size - pos >= self.max_header_bytes:
                        del buf[:]
                        self._scan = 0
                        raise RTSPError(
                            f"header block longer than {self.max_header_bytes} bytes", 400
                        )
                    break
                message = _parse_head(bytes(buf[pos:end]))
                pos = end + sep
                length = message.headers.get("Content-Length")
                if length is None:
                    out.append(message)
                    self._started = None
                    continue
                try:
                    body_size = int(length.strip())
                except ValueError:
                    raise RTSPError(f"bad Content-Length {shown(length)}") from None
                if body_size < 0:
                    raise RTSPError(f"bad Content-Length {shown(length)}")
                if body_size > self.max_body_bytes:
                    raise RTSPError(f"body of {body_size} bytes exceeds {self.max_body_bytes}", 413)
                if body_size == 0:
                    out.append(message)
                    self._started = None
                    continue
                self._pending = message
                self._body_size = body_size
        finally:
            del buf[:pos]
            if buf or self._pending is not None:
                if self._started is None:
                    self._started = now
            else:
                self._started = None
            if self.budget is not None:
                self._account()

    def _head_end(self, buf: bytearray, pos: int, size: int) -> tuple[int, int]:
        """Where the head starting at ``pos`` ends (the empty line) and the separator's
        length, or (-1, 0). Resumes where the last unsuccessful search stopped."""
        start = pos + max(0, self._scan - 3)
        limit = min(size, pos + self.max_header_bytes)
        self.scanned += max(0, limit - start)
        crlf = buf.find(b"\r\n\r\n", start, limit)
        lf = buf.find(b"\n\n", start, crlf + 2 if crlf >= 0 else limit)
        if lf >= 0:
            self._scan = 0
            return lf, 2
        if crlf >= 0:
            self._scan = 0
            return crlf, 4
        self._scan = limit - pos
        return -1, 0

    def _account(self) -> None:
        """Bring what ``budget`` holds for this reader to the bytes it holds (or fail)."""
        budget = self.budget
        assert budget is not None
        diff = len(self._buf) - self._taken
        if diff > 0:
            if not budget.take(self, diff):
                self._taken = 0
                self._drop()
                self.evicted = (
                    f"the server-wide limit of {budget.limit} bytes for unfinished messages "
                    "is reached"
                )
                raise RTSPError(self.evicted, 503)
            self._taken += diff
        elif diff < 0:
            budget.give(self, -diff)
            self._taken += diff

    def _drop(self) -> None:
        self._buf = bytearray()
        self._pending = None
        self._started = None
        self._scan = 0

    def budget_evicted(self, reason: str) -> None:
        """The budget took back what this reader held: drop it; every later feed fails."""
        self.evicted = reason
        self._taken = 0
        self._drop()
        if self.on_evicted is not None:
            self.on_evicted(reason)

    def close(self) -> None:
        """Drop the unfinished message and give back what the budget holds for it."""
        self._drop()
        if self.budget is not None and self._taken:
            self.budget.give(self, self._taken)
            self._taken = 0


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
            raise RTSPError(f"malformed header line {shown(line, 80)}")
        headers.append((name.strip(), value.strip()))
    parts = start.split(" ", 2)
    if len(parts) == 3 and parts[0].startswith("RTSP/"):
        if parts[0] != VERSION:
            raise RTSPError(f"unsupported version {shown(parts[0], 20)}", 505)
        if not (len(parts[1]) == 3 and parts[1].isdigit()):
            raise RTSPError(f"malformed status line {shown(start, 80)}")
        return Response(int(parts[1]), Headers(headers), reason=parts[2])
    if len(parts) == 2 and parts[0] == VERSION and len(parts[1]) == 3 and parts[1].isdigit():
        return Response(int(parts[1]), Headers(headers))
    if len(parts) != 3 or not _METHOD.fullmatch(parts[0]):
        raise RTSPError(f"malformed request line {shown(start, 80)}")
    if parts[2] != VERSION:
        raise RTSPError(f"unsupported version {shown(parts[2], 20)}", 505)
    return Request(parts[0], parts[1], Headers(headers))
