"""Writing the RTMP chunk stream (Adobe RTMP 1.0 section 5.3): messages cut into chunks of
the negotiated size, each header the smallest that the previous one on its chunk stream id
allows. :class:`~headwater_rtmp.wire.chunk_stream.ChunkReader` reads what this writes.
"""

from __future__ import annotations

import struct

from headwater_rtmp.wire.chunk_stream import DEFAULT_CHUNK_SIZE, EXTENDED, MAX_CHUNK_SIZE
from headwater_rtmp.wire.messages import SET_CHUNK_SIZE

_TS = struct.Struct(">I")
_SID = struct.Struct("<I")


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

    def write_many(
        self,
        stream_id: int,
        messages: list[tuple[int, int, bytes]],
        csids: dict[int, int],
        default_csid: int,
        parts: list[bytes | memoryview],
    ) -> None:
        """Append the chunks of several ``(type, timestamp, payload)`` messages of one
        message stream to ``parts``: the same pieces as :meth:`write_parts` for each in
        order (chunk stream ``csids[type]``, else ``default_csid``), in one pass.

        A player's turn is written this way: the usual message (chunk stream 2..63, a
        header of type 1, 2 or 3 after the previous one on its chunk stream, no extended
        timestamp) is chunked here with one integer per header; every other message takes
        :meth:`write_parts`, so both give the same bytes.
        """
        last = self._last
        size = self.chunk_size
        append = parts.append
        cont_of = _BASIC[3]
        for type_id, timestamp, payload in messages:
            csid = csids.get(type_id, default_csid)
            prev = last.get(csid)
            timestamp &= 0xFFFFFFFF
            length = len(payload)
            if (
                prev is None
                or csid >= 64
                or length > 0xFFFFFF
                or prev[4] != stream_id
                or timestamp < prev[0]
                or timestamp - prev[0] >= EXTENDED
            ):
                parts += self.write_parts(csid, type_id, stream_id, timestamp, payload)
                continue
            delta = timestamp - prev[0]
            if prev[2] != length or prev[3] != type_id:
                fmt = 1
                head = ((0x40 | csid) << 56 | delta << 32 | length << 8 | type_id).to_bytes(8)
            elif prev[1] == delta and prev[5] != 0 and not prev[6]:
                fmt = 3
                head = cont_of[csid]
            else:
                fmt = 2
                head = ((0x80 | csid) << 24 | delta).to_bytes(4)
            last[csid] = (timestamp, delta, length, type_id, stream_id, fmt, False)
            append(head)
            if length <= size:
                append(payload)
                continue
            cont = cont_of[csid]
            mv = memoryview(payload)
            append(mv[:size])
            for off in range(size, length, size):
                append(cont)
                append(mv[off : off + size])


_BASIC = tuple(
    tuple(basic_header(fmt, c) if c >= 2 else b"" for c in range(64)) for fmt in range(4)
)
"""One-byte basic headers by format and chunk stream id 2..63 (the ids headwater writes)."""
