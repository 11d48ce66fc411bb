"""Chunk stream (RTMP 1.0 5.3): writer → reader round trips at every chunk size and split,
interleaving, extended timestamps, limits, hand-made golden bytes and fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkError, ChunkReader
from headwater_rtmp.wire.chunk_writer import ChunkWriter, basic_header


def _feed(reader: ChunkReader, data: bytes, step: int) -> list[m.Message]:
    out = []
    for i in range(0, len(data), step):
        out.extend(reader.feed(data[i : i + step]))
    return out


def _key(msgs):
    return [(x.csid, x.type_id, x.stream_id, x.timestamp, bytes(x.payload)) for x in msgs]


# Every chunk size at three read splits; byte-by-byte feeding at three sizes only, which
# keeps the suite fast.
SIZES_AND_SPLITS = [
    (chunk_size, step)
    for chunk_size in (1, 2, 127, 128, 129, 4096, 60000, 65536)
    for step in (1, 7, 1500, 1 << 20)
    if step != 1 or chunk_size in (1, 128, 4096)
]


@pytest.mark.parametrize(("chunk_size", "step"), SIZES_AND_SPLITS)
def test_round_trip_chunk_sizes_and_splits(chunk_size, step):
    writer = ChunkWriter()
    wire = [writer.set_chunk_size(chunk_size)]
    sent = []
    ts = 0
    for i in range(30):
        csid = (m.CSID_AUDIO, m.CSID_VIDEO, 300, 70000 - 4500)[i % 4]
        size = (0, 1, chunk_size, chunk_size + 1, min(3 * chunk_size + 5, 70000), 2000)[i % 6]
        payload = bytes((i + j) & 0xFF for j in range(size))
        ts += (0, 23, 23, 40)[i % 4]
        wire.append(writer.write(csid, m.VIDEO, 1 + i % 2, ts, payload))
        sent.append((csid, m.VIDEO, 1 + i % 2, ts, payload))
    reader = ChunkReader()
    got = _feed(reader, b"".join(wire), step)
    assert got[0].type_id == m.SET_CHUNK_SIZE and reader.chunk_size == chunk_size
    assert _key(got[1:]) == sent
    assert reader.buffered == 0


def test_interleaved_chunk_streams_by_hand():
    # Two messages on csid 4 and 6, chunk size 4, chunks alternating (5.3.2.2 style).
    w = ChunkWriter(4)
    a = w.write(4, m.AUDIO, 1, 10, b"AAAAAAAAAA")  # 10 bytes: 3 chunks
    v = w.write(6, m.VIDEO, 1, 10, b"VVVVVV")  # 6 bytes: 2 chunks

    def split(wire: bytes, first_header: int, cont: int) -> list[bytes]:
        out = [wire[: first_header + 4]]
        pos = first_header + 4
        while pos < len(wire):
            out.append(wire[pos : pos + cont + 4])
            pos += cont + 4
        return out

    ac, vc = split(a, 12, 1), split(v, 12, 1)
    mixed = ac[0] + vc[0] + ac[1] + vc[1] + ac[2]
    r = ChunkReader()
    r.chunk_size = 4
    got = r.feed(mixed)
    assert _key(got) == [(6, m.VIDEO, 1, 10, b"VVVVVV"), (4, m.AUDIO, 1, 10, b"AAAAAAAAAA")]


def test_header_compression_types():
    w = ChunkWriter(128)
    first = w.write(4, m.AUDIO, 1, 1000, b"x" * 10)
    assert first[0] >> 6 == 0 and len(first) == 12 + 10
    same_len_new_delta = w.write(4, m.AUDIO, 1, 1023, b"y" * 10)
    assert same_len_new_delta[0] >> 6 == 2 and len(same_len_new_delta) == 4 + 10
    same_delta = w.write(4, m.AUDIO, 1, 1046, b"z" * 10)
    assert same_delta[0] >> 6 == 3 and len(same_delta) == 1 + 10
    new_len = w.write(4, m.AUDIO, 1, 1069, b"w" * 11)
    assert new_len[0] >> 6 == 1 and len(new_len) == 8 + 11
    back_in_time = w.write(4, m.AUDIO, 1, 5, b"w" * 11)
    assert back_in_time[0] >> 6 == 0
    r = ChunkReader()
    got = r.feed(first + same_len_new_delta + same_delta + new_len + back_in_time)
    assert [x.timestamp for x in got] == [1000, 1023, 1046, 1069, 5]


def test_extended_timestamps_repeat_in_type3_chunks_and_wrap():
    w = ChunkWriter(4)
    big = 0x01000000  # past 24 bits: 4h39m37s
    wire = w.write(6, m.VIDEO, 1, big, b"0123456789")
    # type 0 with 0xFFFFFF, extended field, then type-3 chunks each repeating it
    assert wire[1:4] == b"\xff\xff\xff" and wire[12:16] == big.to_bytes(4, "big")
    assert wire[20:25] == b"\xc6" + big.to_bytes(4, "big")
    wrapped = w.write(6, m.VIDEO, 1, (1 << 32) + 5, b"ab")
    r = ChunkReader()
    r.chunk_size = 4
    got = r.feed(wire + wrapped)
    assert [(x.timestamp, x.payload) for x in got] == [(big, b"0123456789"), (5, b"ab")]
    # a delta past 24 bits in a type-1 header
    w2 = ChunkWriter()
    a = w2.write(4, m.AUDIO, 1, 1, b"a")
    b = w2.write(4, m.AUDIO, 1, 1 + 0x1234567, b"bb")
    assert b[0] >> 6 == 1 and b[1:4] == b"\xff\xff\xff"
    assert [x.timestamp for x in ChunkReader().feed(a + b)] == [1, 1 + 0x1234567]


def test_basic_header_forms():
    assert basic_header(0, 2) == b"\x02"
    assert basic_header(1, 64) == b"\x40\x00"
    assert basic_header(3, 319) == b"\xc0\xff"
    assert basic_header(0, 320) == b"\x01\x00\x01"
    assert basic_header(0, 65599) == b"\x01\xff\xff"
    w = ChunkWriter()
    for csid in (2, 63, 64, 319, 320, 65599):
        [msg] = ChunkReader().feed(w.write(csid, m.DATA_AMF0, 0, 0, b"d"))
        assert msg.csid == csid


def test_abort_drops_partial_message():
    w = ChunkWriter(4)
    wire = w.write(6, m.VIDEO, 1, 0, b"0123456789")
    abort = ChunkWriter().write(2, m.ABORT, 0, 0, (6).to_bytes(4, "big"))
    r = ChunkReader()
    r.chunk_size = 4
    got = r.feed(wire[:16] + abort)
    assert [x.type_id for x in got] == [m.ABORT]
    assert r.buffered == 0
    # the next message on csid 6 starts cleanly
    again = ChunkWriter(4).write(6, m.VIDEO, 1, 0, b"xy")
    assert [x.payload for x in r.feed(again)] == [b"xy"]


def test_limits():
    r = ChunkReader(max_message_size=1000)
    with pytest.raises(ChunkError, match="exceeds"):
        r.feed(ChunkWriter(100).write(6, m.VIDEO, 1, 0, b"x" * 1001)[:200])
    r = ChunkReader(max_streams=3)
    w = ChunkWriter()
    with pytest.raises(ChunkError, match="chunk streams"):
        r.feed(b"".join(w.write(c, m.AUDIO, 1, 0, b"a") for c in range(4, 9)))
    with pytest.raises(ChunkError, match="Set Chunk Size of 0"):
        ChunkReader().feed(ChunkWriter().write(2, m.SET_CHUNK_SIZE, 0, 0, b"\0\0\0\0"))


def test_buffer_bounded_under_partial_input():
    r = ChunkReader()
    r.chunk_size = 4096
    w = ChunkWriter(4096)
    wire = w.write(6, m.VIDEO, 1, 0, b"v" * 100_000)
    for i in range(0, len(wire) - 1, 1000):
        r.feed(wire[i : i + 1000])
        assert r.buffered <= 100_000 + 4096 + 16


messages_strategy = st.lists(
    st.tuples(
        st.sampled_from([3, 4, 6, 64, 400]),
        st.sampled_from([m.AUDIO, m.VIDEO, m.DATA_AMF0]),
        st.integers(0, 3),
        st.integers(0, (1 << 32) - 1),
        st.binary(max_size=600),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(messages_strategy, st.integers(1, 700), st.integers(1, 2000))
def test_property_round_trip(msgs, chunk_size, step):
    w = ChunkWriter()
    wire = w.set_chunk_size(chunk_size) + b"".join(w.write(*x) for x in msgs)
    got = _feed(ChunkReader(), wire, step)
    assert _key(got[1:]) == [tuple(x) for x in msgs]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_only_chunk_errors(data):
    r = ChunkReader(max_message_size=4096)
    with contextlib.suppress(ChunkError):
        r.feed(data)
    assert r.buffered <= 3 * 4096 + len(data)


def test_type3_new_message_after_extended_delta_by_hand():
    """ffmpeg/librtmp style: a type-1 header with an extended delta, then a whole new message
    in a type-3 chunk that repeats the extended field; the delta applies again."""
    delta = 0x01000002
    first = b"\x06" + b"\0\0\x0a" + b"\0\0\x01" + b"\x09" + b"\x01\0\0\0" + b"V"
    second = b"\x46" + b"\xff\xff\xff" + b"\0\0\x01" + b"\x09" + delta.to_bytes(4, "big") + b"W"
    third = b"\xc6" + delta.to_bytes(4, "big") + b"X"
    got = ChunkReader().feed(first + second + third)
    assert [(x.timestamp, x.payload) for x in got] == [
        (10, b"V"),
        (10 + delta, b"W"),
        (10 + 2 * delta, b"X"),
    ]


def test_aggregate_message_is_split_with_rebased_timestamps():
    from headwater.media.flv import encode_tag
    from headwater_rtmp.wire.session import split_aggregate

    body = encode_tag(m.VIDEO, 500, b"\x17\x01\0\0\0") + encode_tag(m.AUDIO, 520, b"\xaf\x01")
    parts = split_aggregate(m.Message(m.AGGREGATE, 1, 1000, body))
    assert [(x.type_id, x.timestamp, x.payload) for x in parts] == [
        (m.VIDEO, 1000, b"\x17\x01\0\0\0"),
        (m.AUDIO, 1020, b"\xaf\x01"),
    ]
