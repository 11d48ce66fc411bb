"""The RTMP chunk stream (Adobe RTMP 1.0 section 5.3): messages cut into chunks with compressed
headers, interleaved over chunk stream ids.

:class:`ChunkReader` reassembles messages from any byte split: basic headers of 1-3 bytes,
message headers of type 0/1/2/3, extended timestamps (also repeated in type-3 chunks, as
ffmpeg, librtmp and Flash write them), 32-bit timestamp wrap, Set Chunk Size and Abort
applied at once. Its counterpart, :class:`~headwater_rtmp.wire.chunk_writer.ChunkWriter`,
lives in ``chunk_writer.py``.

Hot path: one pass over an immutable buffer with ``struct.unpack_from``, from an offset
(a read is never re-sliced). A payload is one copy of the read: a slice for a message in
one chunk, one join of the chunks' ``memoryview`` pieces for a message split into chunks
within one read. Only the pieces of a message still unfinished when a read ends are copied
into its chunk stream's ``bytearray`` (so nothing keeps a whole read alive), each byte
once, whatever the reads' sizes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from headwater import ProtocolError
from headwater_rtmp.wire.messages import ABORT, SET_CHUNK_SIZE, Message

if TYPE_CHECKING:
    from headwater import ByteBudget

DEFAULT_CHUNK_SIZE = 128
MAX_CHUNK_SIZE = 0xFFFFFF
"""Larger Set Chunk Size values are clamped; no message can be longer than 2^24-1 anyway."""
EXTENDED = 0xFFFFFF

_TS = struct.Struct(">I")  # read 4 bytes, keep the top 3 (>> 8) for 24-bit fields
_U64 = struct.Struct(">Q")  # a type 0/1 header from the basic header's last byte on
_SID = struct.Struct("<I")
_HEADER_SIZES = (11, 7, 3, 0)
_new_message = tuple.__new__
"""Makes a :class:`Message` from its five fields in one C call."""
_CONT = tuple(bytes((0xC0 | csid,)) for csid in range(64))
"""The one-byte type-3 basic header of chunk stream ids 2..63 (a continuation chunk)."""


class ChunkError(ProtocolError):
    """A chunk stream that breaks section 5.3 or a configured limit."""


class _Stream:
    """Per chunk stream id: the last header fields and the message being reassembled."""

    __slots__ = (
        "buf",
        "delta",
        "ext",
        "length",
        "parts",
        "remaining",
        "started",
        "stream_id",
        "timestamp",
        "type",
    )

    def __init__(self) -> None:
        self.timestamp = 0
        self.delta = 0
        self.length = 0
        self.type = 0
        self.stream_id = 0
        self.ext = False
        self.remaining = 0
        """Bytes of the unfinished message not received yet (0: no message pending)."""
        self.started = 0.0
        """The caller's ``now`` when the unfinished message's first byte arrived."""
        self.buf = bytearray()
        """Bytes of the unfinished message that came in earlier reads."""
        self.parts: list[memoryview] = []
        """Pieces of the unfinished message in the read being parsed (views of it)."""


class ChunkReader:
    """Incremental chunk stream parser: :meth:`feed` bytes, get whole :class:`Message` objects.

    Bounded and linear whatever the peer does: ``max_message_size`` bounds one message,
    ``max_streams`` the chunk stream ids in use, ``max_buffered`` the declared size of all
    unfinished messages together, and ``budget`` (a server-wide
    :class:`~headwater.byte_budget.ByteBudget`, whose biggest holder is evicted when it is
    full) the bytes really held. Held-back bytes are
    never re-copied: a chunk cut by a read goes into its message's buffer at once, and only
    an incomplete header (at most 18 bytes) waits for the next read. :meth:`oldest_started`
    tells the caller since when an unfinished message has been waiting (``now`` is the
    caller's clock, passed to :meth:`feed`). :attr:`received` counts every byte fed (for
    acknowledgements).
    """

    def __init__(
        self,
        max_message_size: int = 8 << 20,
        max_streams: int = 64,
        *,
        max_buffered: int | None = None,
        budget: ByteBudget | None = None,
    ) -> None:
        self.chunk_size = DEFAULT_CHUNK_SIZE
        self.received = 0
        self.max_message_size = max_message_size
        self.max_streams = max_streams
        self.max_buffered = max_buffered if max_buffered is not None else 2 * max_message_size
        self.budget = budget
        self._streams: dict[int, _Stream] = {}
        self._rest = b""
        self._pending = 0
        """Declared bytes of the unfinished messages (checked against ``max_buffered``)."""
        self._held = 0
        """Bytes really held in unfinished messages' buffers (reported to ``budget``)."""
        self._taken = 0
        """Bytes taken from ``budget`` so far."""
        self._cut: _Stream | None = None
        """The stream whose chunk a read cut short; ``_cut_csid`` and ``_cut_left`` with it."""
        self._cut_csid = 0
        self._cut_left = 0
        self._open: list[_Stream] = []
        """Streams given pieces of the read being parsed (copied out when it ends)."""
        self.evicted: str | None = None
        """Why the budget evicted this reader (then every :meth:`feed` fails), or None."""
        self.on_evicted: Callable[[str], None] | None = None
        """Called with the reason when the budget evicts this reader (to close the peer)."""

    def feed(self, data: bytes | bytearray | memoryview, now: float = 0.0) -> list[Message]:
        """Consume ``data``; return the messages it completes, in order.

        ``data`` may be a view of a buffer the caller reuses (the connection's reads land in
        one buffer shared by all connections): it is parsed in place, and every byte kept
        (payloads, an unfinished message's pieces, a cut header) is copied out of it before
        this returns."""
        self.received += len(data)
        out: list[Message] = []
        view = type(data) is not bytes
        if view:
            data = memoryview(data)
            mv = data
        else:
            mv = memoryview(data)
        pos = 0
        if self._cut is not None:
            pos = self._resume(mv, out)
        if self._rest:
            data = self._rest + data[pos:]
            mv = memoryview(data)
            pos = 0
            view = False
        n = len(data)
        try:
            pos = self._parse(data, mv, pos, n, now, out, view)
        finally:
            if self._open:
                self._keep_open_parts()
        self._rest = bytes(data[pos:]) if pos < n else b""
        if self.budget is not None:
            self._account()
        return out

    def _parse(
        self,
        data: bytes | memoryview,
        mv: memoryview,
        pos: int,
        n: int,
        now: float,
        out: list[Message],
        view: bool = False,
    ) -> int:
        """Parse whole chunks from ``pos``; return where the unparsed tail begins (``view``:
        ``data`` is a memoryview, whose slices must be copied into ``bytes``)."""
        streams = self._streams
        open_ = self._open
        chunk_size = self.chunk_size
        max_size = self.max_message_size
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
            elif fmt <= 1:  # the basic header's last byte, timestamp, length, type: one read
                word = _U64.unpack_from(data, p - 1)[0]
                field = (word >> 32) & 0xFFFFFF
                ext = field == EXTENDED
                length = (word >> 8) & 0xFFFFFF
                type_id = word & 0xFF
                if fmt == 0:
                    stream_id = _SID.unpack_from(data, p + 7)[0]
                p += hsize
            else:
                field = _TS.unpack_from(data, p - 1)[0] & 0xFFFFFF
                ext = field == EXTENDED
                p += 3
            if ext:
                if p + 4 > n:
                    break
                field = _TS.unpack_from(data, p)[0]
                p += 4
            if fmt == 3:
                if st.remaining:
                    take = st.remaining if st.remaining < chunk_size else chunk_size
                    if p + take > n:
                        pos = self._cut_short(st, csid, mv, p, n, take)
                        break
                    if not st.parts:
                        open_.append(st)
                    st.parts.append(mv[p : p + take])
                    self._held += take
                    st.remaining -= take
                    pos = p + take
                    if not st.remaining:
                        out.append(self._complete(st, csid))
                        chunk_size = self.chunk_size
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
                if length > max_size:
                    raise ChunkError(f"message of {length} bytes exceeds the limit of {max_size}")
            if st.remaining:  # a new header abandons the unfinished message (lenient)
                self._drop(st)
            st.timestamp, st.delta, st.length, st.type = timestamp, delta, length, type_id
            st.stream_id, st.ext = stream_id, ext
            take = length if length < chunk_size else chunk_size
            if p + take <= n and take == length:  # the common case: a whole message at once
                pos = p + take
                body = data[p:pos]
                if view:
                    body = bytes(body)
                msg = _new_message(Message, (type_id, stream_id, timestamp, body, csid))
                out.append(msg)  # what _finish does, inlined for the common case
                if type_id in (SET_CHUNK_SIZE, ABORT):
                    self._control(msg)
                    chunk_size = self.chunk_size
                continue
            if not ext and csid < 64:
                # A message in several chunks, all in this read, each continuation behind a
                # one-byte type-3 header (what every publisher writes): check the headers
                # with one strided slice and join the pieces once.
                k = (length - 1) // take
                end = p + length + k
                if end <= n:
                    step = take + 1
                    if data[p + take : end : step] == _CONT[csid] * k:
                        if self._pending + length > self.max_buffered:
                            raise ChunkError(
                                f"unfinished messages of {self._pending + length} bytes exceed "
                                f"the limit of {self.max_buffered} per connection"
                            )
                        last = p + k * step
                        # The chunks' views, cut in C (a list comprehension costs a
                        # Python frame and a loop of bytecodes per message).
                        cuts = map(slice, range(p, last, step), range(p + take, last, step))
                        pieces = list(map(mv.__getitem__, cuts))
                        pieces.append(mv[last:end])
                        pos = end
                        msg = _new_message(
                            Message, (type_id, stream_id, timestamp, b"".join(pieces), csid)
                        )
                        out.append(msg)
                        if type_id in (SET_CHUNK_SIZE, ABORT):
                            self._control(msg)
                            chunk_size = self.chunk_size
                        continue
            self._pending += length
            if self._pending > self.max_buffered:
                raise ChunkError(
                    f"unfinished messages of {self._pending} bytes exceed the limit of "
                    f"{self.max_buffered} per connection"
                )
            st.remaining = length
            st.started = now
            if p + take > n:
                pos = self._cut_short(st, csid, mv, p, n, take)
                break
            if not st.parts:
                open_.append(st)
            st.parts.append(mv[p : p + take])
            self._held += take
            st.remaining -= take
            pos = p + take
        return pos

    def _cut_short(self, st: _Stream, csid: int, mv: memoryview, p: int, n: int, take: int) -> int:
        """Keep the part of a chunk this read holds; the next read resumes it. Returns ``n``."""
        if p < n:
            if not st.parts:
                self._open.append(st)
            st.parts.append(mv[p:n])
        self._held += n - p
        st.remaining -= n - p
        self._cut, self._cut_csid, self._cut_left = st, csid, take - (n - p)
        return n

    def _resume(self, mv: memoryview, out: list[Message]) -> int:
        """Complete the chunk a read cut short with the start of ``mv`` (the new read);
        return where the rest of the read begins."""
        st = self._cut
        assert st is not None
        left = self._cut_left
        n = len(mv)
        take = n if n < left else left
        if take:
            if not st.parts:
                self._open.append(st)
            st.parts.append(mv[:take])
            self._held += take
            st.remaining -= take
        if n < left:
            self._cut_left = left - n
            return n
        self._cut = None
        self._cut_left = 0
        if not st.remaining:
            out.append(self._complete(st, self._cut_csid))
        return left

    def _keep_open_parts(self) -> None:
        """Copy the pieces of unfinished messages out of the read that is ending."""
        for st in self._open:
            parts = st.parts
            if parts:
                buf = st.buf
                for part in parts:
                    buf += part
                parts.clear()
        self._open.clear()

    def _complete(self, st: _Stream, csid: int) -> Message:
        """The message whose last byte just arrived: one join of its pieces."""
        self._pending -= st.length
        self._held -= st.length
        parts = st.parts
        if st.buf:
            payload = b"".join((st.buf, *parts))
            st.buf = bytearray()
        elif len(parts) == 1:
            payload = bytes(parts[0])
        else:
            payload = b"".join(parts)
        parts.clear()
        return self._finish(st, csid, payload)

    def _drop(self, st: _Stream) -> None:
        """Forget an unfinished message (Abort, or a new header on its chunk stream)."""
        self._pending -= st.length
        self._held -= st.length - st.remaining
        st.buf = bytearray()
        st.parts.clear()
        st.remaining = 0

    def _account(self) -> None:
        """Bring what ``budget`` holds for this reader to :attr:`_held` (or fail)."""
        if self.evicted is not None:
            raise ChunkError(self.evicted)
        budget = self.budget
        assert budget is not None
        diff = self._held - self._taken
        if diff > 0:
            if not budget.take(self, diff):
                self._taken = 0
                raise ChunkError(
                    f"the server-wide limit of {budget.limit} bytes for unfinished messages "
                    "is reached"
                )
            self._taken += diff
        elif diff < 0:
            budget.give(self, -diff)
            self._taken += diff

    def budget_evicted(self, reason: str) -> None:
        """The budget took back what this reader held: drop it; every later feed fails."""
        self.evicted = reason
        self._taken = 0
        for st in self._streams.values():
            if st.remaining:
                self._drop(st)
        self._cut = None
        self._cut_left = 0
        if self.on_evicted is not None:
            self.on_evicted(reason)

    def close(self) -> None:
        """Drop every unfinished message and give back what the budget holds for them."""
        for st in self._streams.values():
            if st.remaining:
                self._drop(st)
        self._cut = None
        self._cut_left = 0
        self._rest = b""
        if self.budget is not None and self._taken:
            self.budget.give(self, self._taken)
            self._taken = 0

    def oldest_started(self) -> float | None:
        """The ``now`` at which the oldest unfinished message began, or None if there is none."""
        if not self._pending:
            return None
        return min((st.started for st in self._streams.values() if st.remaining), default=None)

    def _finish(self, st: _Stream, csid: int, payload: bytes) -> Message:
        st.remaining = 0
        msg = _new_message(Message, (st.type, st.stream_id, st.timestamp, payload, csid))
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
                self._drop(st)

    @property
    def buffered(self) -> int:
        """Bytes held: an incomplete header plus unfinished messages (bounded by the limits)."""
        return len(self._rest) + self._held
