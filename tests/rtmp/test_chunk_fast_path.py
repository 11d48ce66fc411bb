"""The chunk reader's whole-message fast path gives exactly what chunk-by-chunk parsing gives.

A message whose chunks all sit in one read is joined at once (its type-3 headers checked
with one strided slice). Fed byte by byte, no read ever holds a whole multi-chunk message,
so the chunk-by-chunk code is the oracle: the same wire fed whole, in random splits and
byte by byte must give the same messages, the same error (or none), the same chunk size and
the same bytes held. Wires are made by :class:`ChunkWriter` with chunks of different chunk
streams interleaved at random, Set Chunk Size and Abort among them, extended timestamps,
and random bytes flipped. Reads are also fed as the connection feeds them: views of one
reused buffer, overwritten after each read (the messages must not change).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkError, ChunkReader
from headwater_rtmp.wire.chunk_writer import ChunkWriter


def _chunks(parts: list[bytes | memoryview]) -> list[bytes]:
    """A message's pieces from ``write_parts`` regrouped as whole chunks (header + data)."""
    out: list[bytes] = []
    for i in range(0, len(parts), 2):
        out.append(b"".join(bytes(p) for p in parts[i : i + 2]))
    return out


def _wire(messages: list[tuple[int, int, int, int, bytes]], chunk_size: int, seed: int) -> bytes:
    """The messages chunked, chunks of different chunk streams interleaved at random."""
    writer = ChunkWriter()
    head = writer.set_chunk_size(chunk_size)
    queues: dict[int, list[bytes]] = {}
    order: list[int] = []
    for csid, type_id, sid, ts, payload in messages:
        parts = writer.write_parts(csid, type_id, sid, ts, payload)
        if len(payload) > chunk_size:  # [head(+ext), piece, cont(+ext), piece, ...]
            chunks = _chunks(parts)
        else:
            chunks = [b"".join(bytes(p) for p in parts)]
        queues.setdefault(csid, []).extend(chunks)
        order.extend([csid] * len(chunks))
    rng = random.Random(seed)
    # Interleave: each chunk stream keeps its own order; which one goes next is random.
    pending = {c: list(q) for c, q in queues.items()}
    slots = list(order)
    rng.shuffle(slots)
    out = [head]
    for csid in slots:
        out.append(pending[csid].pop(0))
    return b"".join(out)


def _run(wire: bytes, step: int, view: bool = False) -> tuple[list[tuple], str | None, int, int]:
    """Feed ``wire`` in ``step``-byte reads; with ``view``, as the connection does: each read
    a view of one reused buffer, overwritten once the reader has returned."""
    reader = ChunkReader(max_message_size=1 << 16, max_buffered=3 << 16)
    got: list[m.Message] = []
    error = None
    shared = bytearray(max(step, 1))
    try:
        for i in range(0, len(wire), step):
            piece = wire[i : i + step]
            if view:
                shared[: len(piece)] = piece
                try:
                    got.extend(reader.feed(memoryview(shared)[: len(piece)]))
                finally:
                    shared[:] = b"\xee" * len(shared)  # what the reader kept must not change
            else:
                got.extend(reader.feed(piece))
    except ChunkError as exc:
        error = str(exc)
    assert all(type(x.payload) is bytes for x in got)
    key = [(x.csid, x.type_id, x.stream_id, x.timestamp, x.payload) for x in got]
    return key, error, reader.chunk_size, reader.buffered if error is None else -1


def _same_as_byte_by_byte(wire: bytes) -> None:
    oracle = _run(wire, 1)
    for step, view in (
        (len(wire) or 1, False),
        (1000, False),
        (4097, False),
        (len(wire) or 1, True),
        (1000, True),
        (1, True),
    ):
        got = _run(wire, step, view)
        if oracle[1] is None:
            assert got == oracle
        else:  # messages completed before the error may stop at a read boundary
            assert got[1] == oracle[1]
            assert got[0] == oracle[0][: len(got[0])]


message = st.tuples(
    st.sampled_from([3, 4, 5, 6, 63]),
    st.sampled_from([m.AUDIO, m.VIDEO, m.DATA_AMF0]),
    st.integers(0, 3),
    st.one_of(st.integers(0, 5000), st.integers(0xFFFFF0, 0x1000010)),
    st.binary(max_size=900),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(message, max_size=10), st.integers(1, 300), st.integers(0, 1 << 30))
def test_interleaved_wires(messages, chunk_size, seed):
    _same_as_byte_by_byte(_wire(messages, chunk_size, seed))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(message, min_size=1, max_size=6),
    st.integers(1, 200),
    st.integers(0, 1 << 30),
    st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_damaged_wires(messages, chunk_size, seed, flips):
    wire = bytearray(_wire(messages, chunk_size, seed))
    for pos, value in flips:
        wire[pos % len(wire)] = value
    _same_as_byte_by_byte(bytes(wire))


@pytest.mark.parametrize("chunk_size", [1, 2, 128, 4096])
def test_table(chunk_size):
    w = ChunkWriter()
    wire = w.set_chunk_size(chunk_size)
    for i, size in enumerate((0, 1, chunk_size, chunk_size + 1, 3 * chunk_size, 17000)):
        wire += w.write(
            4 + i % 2, m.VIDEO, 1, i * 33, bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        )
    wire += w.write(2, m.ABORT, 0, 0, (5).to_bytes(4, "big"))
    wire += w.write(4, m.VIDEO, 1, 0x1000000, b"y" * (2 * chunk_size + 3))  # extended
    _same_as_byte_by_byte(wire)


def test_limit_error_is_the_same():
    w = ChunkWriter()
    wire = w.set_chunk_size(100) + w.write(4, m.VIDEO, 1, 0, b"z" * 50_000)
    reader = ChunkReader(max_message_size=1 << 16, max_buffered=40_000)
    with pytest.raises(ChunkError, match="unfinished messages of 50000 bytes exceed"):
        reader.feed(wire)
    reader = ChunkReader(max_message_size=1 << 16, max_buffered=40_000)
    with pytest.raises(ChunkError, match="unfinished messages of 50000 bytes exceed"):
        for b in wire:
            reader.feed(bytes((b,)))
