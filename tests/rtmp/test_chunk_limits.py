"""The chunk reader against hostile input (issue 13): work linear in the input however it is
split (held-back bytes are never re-copied), message deadlines that bytes cannot extend,
per-connection and server-wide byte caps, memory given back on close."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.byte_budget import ByteBudget
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkError, ChunkReader
from headwater_rtmp.wire.chunk_writer import ChunkWriter

MAX_HEADER = 18
"""The longest chunk header: 3-byte basic, 11-byte type 0, 4-byte extended timestamp."""


def attack_header(length: int = 0xFFFFFF, csid: int = 4) -> bytes:
    """Set Chunk Size 0x7fffffff, then a type-0 header announcing a ``length``-byte video."""
    big = ChunkWriter().write(2, m.SET_CHUNK_SIZE, 0, 0, struct.pack(">I", 0x7FFFFFFF))
    return big + bytes((csid,)) + b"\0\0\0" + length.to_bytes(3, "big") + b"\x09\x01\0\0\0"


def test_regression_slow_sender_work_is_linear():
    """Issue 13 attack 1: a 16 MiB message announced, then sent 1 KiB at a time. The old
    reader re-joined its whole held-back buffer on each read (22 CPU-s for 8 MB); now what it
    holds back between reads is at most one chunk header, so each byte is copied a bounded
    number of times."""
    r = ChunkReader(max_message_size=0xFFFFFF, max_buffered=32 << 20)
    r.feed(attack_header())
    piece = bytes(1024)
    for _ in range(4096):  # 4 MiB
        assert r.feed(piece) == []
        assert len(r._rest) == 0  # the held-back tail that every read would copy again
    assert r.buffered == 4096 * 1024


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=8),
    st.integers(1, 5000),
    st.integers(1, 997),
)
def test_property_held_back_bytes_stay_below_one_header(payloads, chunk_size, step):
    """Any messages, any chunk size, any read size: between reads only an incomplete header
    (never payload) waits to be joined with the next read, so work is linear in the input."""
    w = ChunkWriter()
    wire = w.set_chunk_size(chunk_size) + b"".join(
        w.write(6, m.VIDEO, 1, i * 40, p) for i, p in enumerate(payloads)
    )
    r = ChunkReader()
    got = []
    for i in range(0, len(wire), step):
        got += r.feed(wire[i : i + step])
        assert len(r._rest) < MAX_HEADER
    assert [x.payload for x in got[1:]] == payloads
    assert r.buffered == 0


@pytest.mark.parametrize("size", [1 << 16, 1 << 18, 1 << 20])
def test_growing_inputs_copy_each_byte_a_bounded_number_of_times(size, monkeypatch):
    """Counted, not timed: the bytes the reader copies into message buffers grow linearly
    with the input (at most one copy per payload byte: the pieces that arrive in the read
    that completes the message go straight into its payload), fed 1000 bytes at a time."""
    copied = 0
    real = bytearray.__iadd__

    class Tracked(bytearray):
        def __iadd__(self, other):
            nonlocal copied
            copied += len(other)
            return real(self, other)

    import headwater_rtmp.wire.chunk_stream as cs

    monkeypatch.setattr(cs, "bytearray", Tracked, raising=False)
    w = ChunkWriter(4096)
    wire = w.set_chunk_size(4096) + w.write(6, m.VIDEO, 1, 0, bytes(size))
    r = ChunkReader(max_message_size=1 << 21)
    for i in range(0, len(wire), 1000):
        r.feed(wire[i : i + 1000])
    assert size - 1000 <= copied <= size


def test_message_deadline_is_stamped_at_the_first_byte_and_not_moved_by_more_bytes():
    r = ChunkReader(max_message_size=0xFFFFFF, max_buffered=32 << 20)
    assert r.oldest_started() is None
    r.feed(attack_header(), now=100.0)
    for t in range(101, 120):
        r.feed(bytes(1024), now=float(t))
    assert r.oldest_started() == 100.0  # bytes did not extend the message's deadline
    whole = ChunkWriter().write(3, m.AUDIO, 1, 0, b"a")  # other complete messages neither
    r2 = ChunkReader()
    r2.chunk_size = 128
    w = ChunkWriter(128)
    wire = w.write(6, m.VIDEO, 1, 0, bytes(1000))
    r2.feed(wire[:300], now=5.0)
    r2.feed(whole, now=6.0)
    assert r2.oldest_started() == 5.0
    r2.feed(wire[300:], now=7.0)
    assert r2.oldest_started() is None


def test_per_connection_cap_counts_declared_sizes_before_any_byte_is_held():
    r = ChunkReader(max_message_size=0xFFFFFF, max_buffered=1 << 20)
    with pytest.raises(ChunkError, match="exceed the limit of 1048576 per connection"):
        r.feed(attack_header(2 << 20))


def test_server_wide_budget_evicts_the_biggest_holder_not_the_small_publisher():
    budget = ByteBudget(1 << 20)
    closed: list[str] = []
    hog = ChunkReader(max_message_size=0xFFFFFF, max_buffered=32 << 20, budget=budget)
    hog.on_evicted = closed.append
    hog.feed(attack_header())
    hog.feed(bytes(1000 << 10))
    assert budget.held == 1000 << 10
    good = ChunkReader(budget=budget)
    w = ChunkWriter(4096)
    keyframe = bytes(100_000)
    wire = w.set_chunk_size(4096) + w.write(6, m.VIDEO, 1, 0, keyframe)
    got = good.feed(wire[:60_000])  # holds 60 kB: the budget is passed, the hog goes
    assert closed and "had waited longest" in closed[0]
    assert budget.held == good.buffered
    with pytest.raises(ChunkError, match="had waited longest"):
        hog.feed(b"more")
    got += good.feed(wire[60_000:])
    assert [x.payload for x in got[1:]] == [keyframe]
    assert budget.held == 0


def test_a_reader_that_is_the_biggest_holder_itself_is_refused():
    budget = ByteBudget(100_000)
    r = ChunkReader(max_message_size=0xFFFFFF, max_buffered=32 << 20, budget=budget)
    r.feed(attack_header())
    with pytest.raises(ChunkError, match="server-wide limit of 100000 bytes"):
        r.feed(bytes(200_000))
    assert budget.held == 0


def test_close_gives_everything_back():
    budget = ByteBudget(64 << 20)
    readers = [
        ChunkReader(max_message_size=0xFFFFFF, max_buffered=32 << 20, budget=budget)
        for _ in range(10)
    ]
    for r in readers:
        r.feed(attack_header())
        r.feed(bytes(300_000))
    assert budget.held == 3_000_000 and budget.holders == 10
    for r in readers:
        r.close()
    assert budget.held == 0 and budget.holders == 0


def test_the_budget_evicts_the_longest_waiting_message_before_a_bigger_young_one():
    """Many small hoarders must not push out a publisher in the middle of a big keyframe:
    the hoarders' messages are older, so they go first."""
    budget = ByteBudget(1 << 20)
    closed: list[str] = []
    hoarders = []
    for _ in range(4):  # 4 x 200 kB, begun at t=1
        r = ChunkReader(max_message_size=0xFFFFFF, max_buffered=32 << 20, budget=budget)
        r.on_evicted = closed.append
        r.feed(attack_header(), now=1.0)
        r.feed(bytes(200_000), now=1.0)
        hoarders.append(r)
    good = ChunkReader(max_message_size=0xFFFFFF, max_buffered=32 << 20, budget=budget)
    w = ChunkWriter(4096)
    keyframe = bytes(600_000)
    wire = w.set_chunk_size(4096) + w.write(6, m.VIDEO, 1, 0, keyframe)
    got = good.feed(wire[:300_000], now=9.0)  # the biggest holder now, but the youngest
    got += good.feed(wire[300_000:], now=9.5)
    assert [x.payload for x in got[1:]] == [keyframe]
    assert len(closed) >= 1 and all("had waited longest" in c for c in closed)
    assert good.evicted is None


def test_regression_unfinished_messages_hold_copies_not_views_of_the_read():
    """Pieces of a message split into chunks are joined from views of the read; a message
    still unfinished when the read ends keeps a copy of its bytes, never a view that would
    keep the whole read alive."""
    w = ChunkWriter(128)
    wire = w.set_chunk_size(128) + w.write(6, m.VIDEO, 1, 0, bytes(range(256)) * 40)
    r = ChunkReader()
    cut = len(wire) - 300
    r.feed(wire[:cut])  # the Set Chunk Size message and most of the video message
    streams = r._streams.values()
    assert all(not st.parts for st in streams)
    assert any(len(st.buf) for st in streams)
    (msg,) = [x for x in r.feed(wire[cut:]) if x.type_id == m.VIDEO]
    assert msg.payload == bytes(range(256)) * 40 and type(msg.payload) is bytes
    assert r.buffered == 0 and all(not st.parts and not st.buf for st in streams)
