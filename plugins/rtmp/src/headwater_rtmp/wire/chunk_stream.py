"""The RTMP chunk stream (Adobe RTMP 1.0 section 5.3): messages cut into chunks with compressed
headers, interleaved over chunk stream ids.

:class:`ChunkReader` reassembles messages from any byte split: basic headers of 1-3 bytes,
message headers of type 0/1/2/3, extended timestamps (also repeated in type-3 chunks, as
ffmpeg, librtmp and Flash write them), 32-bit timestamp wrap, Set Chunk Size and Abort
applied at once. :class:`ChunkWriter` picks the smallest header for each message.

Hot path: one pass over an immutable buffer with ``struct.unpack_from``; a payload is
either one slice copy (a message in one chunk) or one join of memoryview slices.
"""

from __future__ import annotations

import struct

from headwater import ProtocolError
from headwater_rtmp.wire.messages import ABORT, SET_CHUNK_SIZE, Message

DEFAULT_CHUNK_SIZE = 128
MAX_CHUNK_SIZE = 0xFFFFFF
"""Larger Set Chunk Size values are clamped; no message can be longer than 2^24-1 anyway."""
EXTENDED = 0xFFFFFF

_TS = struct.Struct(">I")  # read 4 bytes, keep the top 3 (>> 8) for 24-bit fields
_LEN_TYPE = struct.Struct(">IB")  # 3-byte length read as the low bytes of a 4-byte window
_SID = struct.Struct("<I")
_HEADER_SIZES = (11, 7, 3, 0)


class ChunkError(ProtocolError):
    """A chunk stream that breaks section 5.3 or a configured limit."""


class _Stream:
    """Per chunk stream id: the last header fields and the message being reassembled."""

    __slots__ = ("delta", "ext", "length", "parts", "remaining", "stream_id", "timestamp", "type")

    def __init__(self) -> None:
        self.timestamp = 0
        self.delta = 0
        self.length = 0
        self.type = 0
        self.stream_id = 0
        self.ext = False
        self.remaining = 0
        self.parts: list[memoryview] = []


class ChunkReader:
    """Incremental chunk stream parser: :meth:`feed` bytes, get whole :class:`Message` objects.

    ``max_message_size`` bounds one message; ``max_streams`` the chunk stream ids in use;
    together they bound buffered memory. :attr:`received` counts every byte fed (for
    acknowledgements).
    """

    def __init__(self, max_message_size: int = 8 << 20, max_streams: int = 64) -> None:
        self.chunk_size = DEFAULT_CHUNK_SIZE
        self.received = 0
        self.max_message_size = max_message_size
        self.max_streams = max_streams
        self._streams: dict[int, _Stream] = {}
        self._rest = b""
        self._pending = 0

    def feed(self, data: bytes) -> list[Message]:
        """Consume ``data``; return the messages it completes, in order."""
        self.received += len(data)
        if self._rest:
            data = self._rest + data
        elif type(data) is not bytes:
            data = bytes(data)
        out: list[Message] = []
        n = len(data)
        mv = memoryview(data)
        pos = 0
        streams = self._streams
        while pos < n:
            b0 = data[pos]
            fmt = b0 >> 6
            csid = b0 & 0x3F
            p = pos + 1
            if csid < 2:
                if csid == 0:
                    if p + 1 > n:
                        break
                    csid = 64 + data[p]
                    p += 1
                else:
                    if p + 2 > n:
                        break
                    csid = 64 + data[p] + (data[p + 1] << 8)
                    p += 2
            st = streams.get(csid)
            if st is None:
                if fmt == 3:
                    raise ChunkError(f"chunk stream {csid} starts with a type-3 header")
                if len(streams) >= self.max_streams:
                    raise ChunkError(f"more than {self.max_streams} chunk streams in use")
                st = streams[csid] = _Stream()
            hsize = _HEADER_SIZES[fmt]
            if p + hsize > n:
                break
            if fmt == 3:
                ext = st.ext
                field = 0
            else:
                field = _TS.unpack_from(data, p - 1)[0] & 0xFFFFFF
                ext = field == EXTENDED
                if fmt <= 1:
                    word, type_id = _LEN_TYPE.unpack_from(data, p + 2)
                    length = word & 0xFFFFFF
                    if fmt == 0:
                        stream_id = _SID.unpack_from(data, p + 7)[0]
                p += hsize
            if ext:
                if p + 4 > n:
                    break
                field = _TS.unpack_from(data, p)[0]
                p += 4
            if fmt == 3:
                if st.remaining:
                    take = st.remaining if st.remaining < self.chunk_size else self.chunk_size
                    if p + take > n:
                        break
                    st.parts.append(mv[p : p + take])
                    st.remaining -= take
                    pos = p + take
                    if not st.remaining:
                        self._pending -= st.length
                        out.append(self._finish(st, csid, b"".join(st.parts)))
                    continue
                length = st.length
                timestamp = (st.timestamp + st.delta) & 0xFFFFFFFF
                delta = st.delta
                type_id, stream_id = st.type, st.stream_id
            else:
                if fmt == 0:
                    timestamp = delta = field
                else:
                    delta = field
                    timestamp = (st.timestamp + field) & 0xFFFFFFFF
                    if fmt == 2:
                        length, type_id = st.length, st.type
                    stream_id = st.stream_id
                if length > self.max_message_size:
                    raise ChunkError(
                        f"message of {length} bytes exceeds the limit of {self.max_message_size}"
                    )
            take = length if length < self.chunk_size else self.chunk_size
            if p + take > n:
                break
            if st.remaining:  # a new header abandons the unfinished message (lenient)
                self._pending -= st.length
                st.parts = []
            st.timestamp, st.delta, st.length, st.type = timestamp, delta, length, type_id
            st.stream_id, st.ext = stream_id, ext
            pos = p + take
            if take == length:
                st.remaining = 0
                msg = self._finish(st, csid, data[p:pos])
                out.append(msg)
            else:
                st.parts = [mv[p:pos]]
                st.remaining = length - take
                self._pending += length
                if self._pending > 2 * self.max_message_size:
                    raise ChunkError("too many unfinished messages buffered")
        self._rest = data[pos:] if pos < n else b""
        return out

    def _finish(self, st: _Stream, csid: int, payload: bytes) -> Message:
        st.parts = []
        st.remaining = 0
        msg = Message(st.type, st.stream_id, st.timestamp, payload, csid)
        if st.type == SET_CHUNK_SIZE or st.type == ABORT:
            self._control(msg)
        return msg

    def _control(self, msg: Message) -> None:
        if len(msg.payload) < 4:
            raise ChunkError("Set Chunk Size/Abort message shorter than 4 bytes")
        value = _TS.unpack_from(msg.payload)[0]
        if msg.type_id == SET_CHUNK_SIZE:
            value &= 0x7FFFFFFF
            if value < 1:
                raise ChunkError("Set Chunk Size of 0")
            self.chunk_size = min(value, MAX_CHUNK_SIZE)
        else:
            st = self._streams.get(value)
            if st is not None and st.remaining:
                self._pending -= st.length
                st.parts = []
                st.remaining = 0

    @property
    def buffered(self) -> int:
        """Bytes held: an incomplete chunk plus unfinished messages (bounded by the limits)."""
        return len(self._rest) + self._pending


def basic_header(fmt: int, csid: int) -> bytes:
    """The 1-3 byte basic header (5.3.1.1)."""
    if 2 <= csid <= 63:
        return bytes((fmt << 6 | csid,))
    if 64 <= csid <= 319:
        return bytes((fmt << 6, csid - 64))
    if 320 <= csid <= 65599:
        c = csid - 64
        return bytes((fmt << 6 | 1, c & 0xFF, c >> 8))
    raise ValueError(f"chunk stream id {csid} out of range 2..65599")


class ChunkWriter:
    """Serializes messages into chunks of :attr:`chunk_size`, compressing headers per csid.

    A type-3 header starts a new message only after a type-1/2 header with the same delta,
    the reading all implementations agree on; the extended timestamp is repeated in every
    type-3 continuation chunk of a message that has one.
    """

    def __init__(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.chunk_size = chunk_size
        # csid -> (timestamp, delta, length, type, stream id, last header fmt, extended)
        self._last: dict[int, tuple[int, int, int, int, int, int, bool]] = {}

    def set_chunk_size(self, size: int) -> bytes:
        """A Set Chunk Size message (sent in the old size); then :attr:`chunk_size` is ``size``."""
        if not 1 <= size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size {size} out of range")
        out = self.write(2, SET_CHUNK_SIZE, 0, 0, _TS.pack(size))
        self.chunk_size = size
        return out

    def write(
        self, csid: int, type_id: int, stream_id: int, timestamp: int, payload: bytes
    ) -> bytes:
        """Chunks of one message; ``timestamp`` is milliseconds (taken modulo 2^32)."""
        return b"".join(self.write_parts(csid, type_id, stream_id, timestamp, payload))

    def write_parts(
        self, csid: int, type_id: int, stream_id: int, timestamp: int, payload: bytes
    ) -> list[bytes | memoryview]:
        """Like :meth:`write` but returns the pieces, so a caller can join many messages once."""
        timestamp &= 0xFFFFFFFF
        length = len(payload)
        prev = self._last.get(csid)
        delta = 0
        if prev is None or prev[4] != stream_id or timestamp < prev[0]:
            fmt, field = 0, timestamp
        else:
            delta = timestamp - prev[0]
            if prev[2] != length or prev[3] != type_id:
                fmt, field = 1, delta
            elif prev[1] == delta and prev[5] != 0 and not prev[6]:
                fmt, field = 3, 0
            else:
                fmt, field = 2, delta
        ext = field >= EXTENDED
        basic = _BASIC[fmt][csid] if 2 <= csid < 64 else basic_header(fmt, csid)
        if fmt == 3:
            head = basic
        elif fmt == 2:
            head = basic + (EXTENDED if ext else field).to_bytes(3, "big")
        else:
            fields = (EXTENDED if ext else field) << 32 | length << 8 | type_id
            head = basic + fields.to_bytes(7, "big")
            if fmt == 0:
                head += _SID.pack(stream_id)
        ext_bytes = _TS.pack(field) if ext else b""
        self._last[csid] = (
            timestamp,
            delta if fmt else timestamp,
            length,
            type_id,
            stream_id,
            fmt,
            ext,
        )
        size = self.chunk_size
        if length <= size:
            return [head, ext_bytes, payload] if ext else [head, payload]
        cont = (_BASIC[3][csid] if 2 <= csid < 64 else basic_header(3, csid)) + ext_bytes
        mv = memoryview(payload)
        parts: list[bytes | memoryview] = [head + ext_bytes, mv[:size]]
        for off in range(size, length, size):
            parts.append(cont)
            parts.append(mv[off : off + size])
        return parts


_BASIC = tuple(
    tuple(basic_header(fmt, c) if c >= 2 else b"" for c in range(64)) for fmt in range(4)
)
"""One-byte basic headers by format and chunk stream id 2..63 (the ids headwater writes)."""
