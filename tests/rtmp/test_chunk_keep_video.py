"""Video messages kept in their chunks (``ChunkReader.keep_video``, a publisher's
connection) and sent in them (``ChunkWriter.write_many``) give exactly the bytes of the
joined path.

The reader: the same wires as ``test_chunk_fast_path`` (interleaved chunk streams, Set
Chunk Size, Abort, extended timestamps, flipped bytes), fed as the connection feeds a
publisher: views of a buffer that is overwritten for the next read unless the reader says
it kept views of it (then the next read gets a new buffer). The messages, with every
:class:`FlvChunks` payload joined, are the byte-by-byte oracle's; only video payloads are
kept. The writer: messages whose payloads are chunks of any size on any chunk stream give
the same bytes and header state as the joined payloads.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_chunk_fast_path import _run, _wire, message

from headwater.media.frames import FlvChunks
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkError, ChunkReader
from headwater_rtmp.wire.chunk_writer import ChunkWriter


def _run_keeping(wire: bytes, step: int) -> tuple[list[tuple], str | None, int, int]:
    reader = ChunkReader(max_message_size=1 << 16, max_buffered=3 << 16)
    reader.keep_video = True
    got: list[m.Message] = []
    error = None
    buffer = bytearray(max(step, 1))
    try:
        for i in range(0, len(wire), step):
            piece = wire[i : i + step]
            buffer[: len(piece)] = piece
            try:
                got.extend(reader.feed(memoryview(buffer)[: len(piece)]))
            finally:
                if reader.kept:  # held by payloads: the next read gets a new buffer
                    reader.kept = False
                    buffer = bytearray(len(buffer))
                else:  # nothing may hold it: scribble over it
                    buffer[:] = b"\xee" * len(buffer)
    except ChunkError as exc:
        error = str(exc)
    kept = [x for x in got if type(x.payload) is FlvChunks]
    assert all(x.type_id == m.VIDEO for x in kept)
    assert all(type(x.payload) in (bytes, FlvChunks) for x in got)
    key = [
        (
            x.csid,
            x.type_id,
            x.stream_id,
            x.timestamp,
            x.payload.join() if type(x.payload) is FlvChunks else x.payload,
        )
        for x in got
    ]
    return key, error, reader.chunk_size, reader.buffered if error is None else -1


def _same_as_byte_by_byte(wire: bytes) -> None:
    oracle = _run(wire, 1)
    for step in (len(wire) or 1, 1000, 4097, 1):
        got = _run_keeping(wire, step)
        if oracle[1] is None:
            assert got == oracle
        else:
            assert got[1] == oracle[1]
            assert got[0] == oracle[0][: len(got[0])]


@settings(max_examples=300, deadline=None)
@given(st.lists(message, max_size=10), st.integers(1, 300), st.integers(0, 1 << 30))
def test_interleaved_wires(messages, chunk_size, seed):
    _same_as_byte_by_byte(_wire(messages, chunk_size, seed))


@settings(max_examples=200, deadline=None)
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


def test_a_video_message_in_one_read_is_kept_as_views_of_it() -> None:
    w = ChunkWriter()
    wire = w.set_chunk_size(4096) + w.write(6, m.VIDEO, 1, 0, bytes(range(256)) * 70)
    wire += w.write(4, m.AUDIO, 1, 0, b"a" * 300) + w.write(6, m.VIDEO, 1, 40, b"v" * 100)
    reader = ChunkReader()
    reader.keep_video = True
    buffer = bytearray(wire)
    _, big, audio, small = reader.feed(memoryview(buffer))  # Set Chunk Size first
    assert reader.kept
    assert type(big.payload) is FlvChunks and big.payload.take == 4096
    assert big.payload.join() == bytes(range(256)) * 70
    assert type(audio.payload) is bytes
    assert type(small.payload) is FlvChunks and small.payload.join() == b"v" * 100
    buffer[-1:] = b"w"  # a view: what the buffer holds is what the payload holds
    assert small.payload.join() == b"v" * 99 + b"w"


def _chunks(body: bytes, take: int, csid: int) -> FlvChunks:
    pieces = [body[i : i + take] for i in range(0, len(body), take)] or [b""]
    return FlvChunks(memoryview(bytes((0xC0 | csid,)).join(pieces)), take, len(body))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([m.VIDEO, m.AUDIO]),
            st.integers(0, 300),
            st.binary(max_size=700),
            st.sampled_from([None, 16, 100, 128, 256]),  # the publisher's chunk size
            st.sampled_from([6, 4, 7]),  # the publisher's chunk stream
        ),
        max_size=12,
    ),
    st.sampled_from([16, 128, 256]),
    st.integers(0, 1),
)
def test_write_many_sends_chunks_as_the_joined_bodies(messages, size, first):
    plain, kept = ChunkWriter(size), ChunkWriter(size)
    csids = {m.VIDEO: m.CSID_VIDEO, m.AUDIO: m.CSID_AUDIO}
    plain_parts: list[bytes | memoryview] = []
    kept_parts: list[bytes | memoryview] = []
    if first:  # a header of type 0 first (the fallback path), then the fast one
        plain_parts += plain.write_parts(m.CSID_VIDEO, m.VIDEO, 1, 0, b"x")
        kept_parts += kept.write_parts(m.CSID_VIDEO, m.VIDEO, 1, 0, b"x")
    ts = 0
    for kind, delta, body, take, csid in messages:
        ts += delta
        payload: bytes | FlvChunks = body
        if kind == m.VIDEO and take is not None:
            payload = _chunks(body, take, csid)
        plain.write_many(1, [(kind, ts, body)], csids, m.CSID_DATA, plain_parts)
        kept.write_many(1, [(kind, ts, payload)], csids, m.CSID_DATA, kept_parts)
    assert b"".join(kept_parts) == b"".join(plain_parts)
    assert kept._last == plain._last
    reader = ChunkReader()
    reader.chunk_size = size
    if messages:
        got = reader.feed(b"".join(kept_parts))
        assert [x.payload for x in got[first:]] == [b for _, _, b, _, _ in messages]


@pytest.mark.parametrize("take", [4096, 128])
def test_write_parts_joins_chunks(take: int) -> None:
    body = bytes(range(256)) * 30
    got = ChunkWriter(4096).write_parts(6, m.VIDEO, 1, 0, _chunks(body, take, 6))
    assert b"".join(got) == ChunkWriter(4096).write(6, m.VIDEO, 1, 0, body)


@pytest.mark.parametrize("size", [16, 128])
@pytest.mark.parametrize("take", [16, 128, 100])
@pytest.mark.parametrize("csid", [6, 4])
@pytest.mark.parametrize("length", [0, 10, 16, 17, 128, 1000])
def test_write_many_table(size: int, take: int, csid: int, length: int) -> None:
    """Chunks go out as they came only when their size and chunk stream are the writer's."""
    body = bytes(range(256)) * 4
    body = body[:length]
    csids = {m.VIDEO: m.CSID_VIDEO}
    out = {}
    for name, payload in (("plain", body), ("kept", _chunks(body, take, csid))):
        writer = ChunkWriter(size)
        parts = writer.write_parts(m.CSID_VIDEO, m.VIDEO, 1, 0, b"x")
        writer.write_many(1, [(m.VIDEO, 40, payload), (m.VIDEO, 80, payload)], csids, 5, parts)
        out[name] = (b"".join(parts), writer._last)
    assert out["kept"] == out["plain"]
