"""A player's turn chunked in one pass gives exactly the bytes of one message at a time.

:meth:`ChunkWriter.write_many` (and :meth:`Outbox.media_many` on it) chunks the usual
message with precomputed header bytes and hands every other one to :meth:`write_parts`;
the oracle is :meth:`write_parts` called for each message in order on a second writer.
Cases: headers of every type (a new stream id, a timestamp going back, the same or another
length, type and delta), extended timestamps and deltas, chunk stream ids past 63,
payloads empty, one chunk long and many chunks long, and turns mixed with control
messages written one at a time.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkReader
from headwater_rtmp.wire.chunk_writer import ChunkWriter
from headwater_rtmp.wire.outbox import Outbox

CSIDS = {m.AUDIO: 4, m.VIDEO: 6, 99: 320}
"""Audio and video on one-byte ids, a third type past the one-byte range."""
DEFAULT = 5


def _joined(parts: list[bytes | memoryview]) -> bytes:
    return b"".join(parts)


def _oracle(writer: ChunkWriter, sid: int, messages: list[tuple[int, int, bytes]]) -> bytes:
    parts: list[bytes | memoryview] = []
    for type_id, ts, payload in messages:
        parts += writer.write_parts(CSIDS.get(type_id, DEFAULT), type_id, sid, ts, payload)
    return _joined(parts)


def _many(writer: ChunkWriter, sid: int, messages: list[tuple[int, int, bytes]]) -> bytes:
    parts: list[bytes | memoryview] = []
    writer.write_many(sid, messages, CSIDS, DEFAULT, parts)
    return _joined(parts)


def _same(turns: list[tuple[int, list[tuple[int, int, bytes]]]], chunk_size: int) -> None:
    new, old = ChunkWriter(chunk_size), ChunkWriter(chunk_size)
    for sid, messages in turns:
        assert _many(new, sid, messages) == _oracle(old, sid, messages)
        assert new._last == old._last
        # A control message between turns sees the same header state.
        assert new.write(2, m.ACK, 0, 0, b"\0\0\0\1") == old.write(2, m.ACK, 0, 0, b"\0\0\0\1")


def test_table() -> None:
    a, v = m.AUDIO, m.VIDEO
    big = bytes(range(256)) * 40  # 10240 bytes: three chunks of 4096
    turns = [
        (1, [(v, 0, big), (a, 0, b"\xaf\x01aa"), (a, 23, b"\xaf\x01bb"), (a, 46, b"\xaf\x01cc")]),
        (1, [(v, 40, big[:5000]), (v, 80, big[:5000]), (v, 120, big[:5000]), (v, 160, b"")]),
        (1, [(a, 69, b"\xaf\x01dd"), (a, 60, b"\xaf\x01dd"), (a, 83, b"\xaf\x01dd")]),  # back
        (2, [(a, 100, b"x"), (v, 200, big)]),  # another message stream: type 0 again
        (2, [(v, 200 + 0xFFFFFF, big), (v, 200 + 0xFFFFFF + 40, big)]),  # extended delta
        (2, [(a, 0xFFFFFFFF + 5, b"wrap"), (a, 0x1_0000_0005 + 23, b"wrap")]),  # 32-bit wrap
        (2, [(99, 5, b"far"), (99, 10, b"far"), (99, 15, b"far"), (18, 15, b"data")]),
        (2, [(v, 0x1000000, big), (v, 0x1000028, big), (v, 0x1000050, big)]),  # ext timestamps
    ]
    for size in (128, 4096, 5000, 60000):
        _same(turns, size)


def test_what_the_reader_reads_back() -> None:
    outbox = Outbox()
    outbox.writer.chunk_size = 128
    messages = [(m.VIDEO, 40 * i, bytes([i]) * (300 + i)) for i in range(20)]
    messages += [(m.AUDIO, 23 * i, bytes([i]) * 7) for i in range(20)]
    outbox.media_many(1, messages)
    reader = ChunkReader()
    got = [(x.type_id, x.timestamp, x.payload) for x in reader.feed(outbox.data_to_send())]
    assert got == [(t, ts & 0xFFFFFFFF, p) for t, ts, p in messages]


def test_take_hands_out_the_pieces_data_to_send_joins() -> None:
    """:meth:`Outbox.take` (what a connection gives ``transport.writelines``) is the queue as
    pieces: joined, the bytes :meth:`Outbox.data_to_send` gives; the queue is empty after,
    and the pieces are ``bytes`` or views of ``bytes`` (a transport may keep them)."""
    messages = [(m.VIDEO, 40 * i, bytes([i]) * (70000 if i == 3 else 300 + i)) for i in range(8)]
    messages += [(m.AUDIO, 23 * i, bytes([i]) * 7) for i in range(8)]
    joined, taken = Outbox(), Outbox()
    for outbox in (joined, taken):
        outbox.writer.chunk_size = 60000
        outbox.control(m.ACK, m.acknowledgement(5))
        outbox.media_many(1, messages)
    pieces = taken.take()
    assert b"".join(pieces) == joined.data_to_send()
    assert not taken.pending and taken.take() == []
    assert all(
        type(piece) is bytes or type(piece.obj) is bytes  # type: ignore[union-attr]
        for piece in pieces
    )


_message = st.tuples(
    st.sampled_from([m.AUDIO, m.VIDEO, m.DATA_AMF0, 99]),
    st.one_of(
        st.integers(0, 2000),
        st.integers(0xFFFFF0, 0x1000010),
        st.integers(0xFFFFFFF0, 0x10000000F),
    ),
    st.one_of(st.sampled_from([b"", b"\xaf\x01", b"x" * 300]), st.binary(max_size=700)),
)


@settings(max_examples=300, deadline=None)
@given(
    turns=st.lists(
        st.tuples(
            st.sampled_from([1, 1, 1, 2]),
            st.lists(_message, max_size=12).map(
                # mostly rising timestamps, as a player's turn has them
                lambda ms: sorted(ms, key=lambda x: x[1]) if len(ms) % 3 else ms
            ),
        ),
        max_size=6,
    ),
    chunk_size=st.sampled_from([1, 7, 128, 300, 4096]),
)
def test_fuzzed_turns(
    turns: list[tuple[int, list[tuple[int, int, bytes]]]], chunk_size: int
) -> None:
    _same(turns, chunk_size)
