"""RTP (RFC 3550) packets, RTCP reports, the reorder buffer and the clock."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.media.rtp.clock import RTPClock
from headwater.media.rtp.packet import RTPError, RTPPacket, is_rtcp, parse_rtp, rtp_header
from headwater.media.rtp.reorder import ReorderBuffer
from headwater.media.rtp.rtcp import (
    Goodbye,
    SenderReport,
    ntp_time,
    parse_rtcp,
    receiver_report,
    sender_report,
)

PACKETS = [
    (
        "plain",
        bytes.fromhex("8060 0001 00000064 deadbeef") + b"abc",
        RTPPacket(96, 1, 100, 0xDEADBEEF, b"abc"),
    ),
    (
        "marker",
        bytes.fromhex("80e1 ffff ffffffff 00000001"),
        RTPPacket(97, 0xFFFF, 0xFFFFFFFF, 1, b"", marker=True),
    ),
    (
        "csrc",
        bytes.fromhex("8160 0002 00000000 00000001 00000009") + b"x",
        RTPPacket(96, 2, 0, 1, b"x", csrc=(9,)),
    ),
    (
        "extension",
        bytes.fromhex("9060 0003 00000000 00000001 bede0001 01020304") + b"y",
        RTPPacket(96, 3, 0, 1, b"y", extension=(0xBEDE, b"\x01\x02\x03\x04")),
    ),
]


@pytest.mark.parametrize(("name", "wire", "packet"), PACKETS, ids=[p[0] for p in PACKETS])
def test_packets(name, wire, packet):
    assert parse_rtp(wire) == packet
    assert packet.to_bytes() == wire
    if not packet.csrc and not packet.extension:
        assert (
            rtp_header(
                96 if name == "plain" else 97,
                packet.marker,
                packet.sequence,
                packet.timestamp,
                packet.ssrc,
            )
            == wire[:12]
        )


def test_padding_is_removed():
    wire = bytes.fromhex("a060 0001 00000064 00000001") + b"data" + b"\x00\x00\x03"
    assert parse_rtp(wire).payload == b"data"


@pytest.mark.parametrize(
    "wire",
    [
        b"",
        bytes(11),
        bytes.fromhex("4060 0001 00000064 00000001"),
        bytes.fromhex("8f60 0001 00000064 00000001"),
        bytes.fromhex("9060 0001 00000064 00000001 bede0009"),
        bytes.fromhex("a060 0001 00000064 00000001 ff"),
    ],
)
def test_malformed(wire):
    with pytest.raises(RTPError):
        parse_rtp(wire)


@given(st.binary(max_size=80))
def test_fuzz_rtp_and_rtcp(data):
    with contextlib.suppress(RTPError):
        parse_rtp(data)
    with contextlib.suppress(RTPError):
        parse_rtcp(data)


def test_rtcp_round_trip():
    ntp = ntp_time(1_700_000_000.5)
    sr = sender_report(0x1234, ntp, 90000, 10, 1000)
    rr = receiver_report(0x1, 0x1234, fraction_lost=3, cumulative_lost=-2, highest_sequence=70000)
    bye = bytes.fromhex("81cb0001 00001234")
    assert is_rtcp(sr) and is_rtcp(rr) and not is_rtcp(PACKETS[0][1])
    got = parse_rtcp(sr + rr + bye)
    assert got == [SenderReport(0x1234, ntp, 90000, 10, 1000), Goodbye((0x1234,))]
    assert got[0].middle_ntp == (ntp >> 16) & 0xFFFFFFFF
    assert rr[12:16] == bytes((3, 0xFF, 0xFF, 0xFE))  # signed 24-bit cumulative loss
    with pytest.raises(RTPError):
        parse_rtcp(sr[:-4])


def _packets(seqs):
    return [RTPPacket(96, s & 0xFFFF, 0, 1, bytes((s & 0xFF,))) for s in seqs]


def test_reorder_puts_late_packets_back():
    buf = ReorderBuffer(8)
    out = []
    for p in _packets([10, 12, 11, 13, 13, 9, 15, 14]):
        out += buf.push(p)
    assert [p.sequence for p in out] == [10, 11, 12, 13, 14, 15]
    assert (buf.received, buf.lost, buf.late, buf.held) == (6, 0, 2, 0)


def test_reorder_gives_up_on_a_gap_when_full_and_counts_the_loss():
    buf = ReorderBuffer(4)
    out = []
    for p in _packets([1, 3, 4, 5, 6, 7]):
        out += buf.push(p)
    assert [p.sequence for p in out] == [1, 3, 4, 5, 6, 7]
    assert buf.lost == 1 and buf.held == 0
    assert buf.push(_packets([2])[0]) == [] and buf.late == 1  # too late now


def test_reorder_wraps_and_follows_a_jump():
    buf = ReorderBuffer(8)
    out = []
    for p in _packets([65534, 65535, 0, 1, 30000, 30001]):
        out += buf.push(p)
    assert [p.sequence for p in out] == [65534, 65535, 0, 1, 30000, 30001]
    assert buf.highest == (1 << 16) | 30001


@given(st.permutations(list(range(40))), st.integers(1, 20))
def test_reorder_bounded_and_loses_nothing_within_its_depth(order, size):
    buf = ReorderBuffer(size)
    out = []
    for p in _packets([1000 + s for s in order]):
        out += buf.push(p)
        assert buf.held < size
    seqs = [p.sequence for p in out]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len(seqs) + buf.lost + buf.late >= 40 - buf.held


def test_shuffled_within_depth_is_fully_repaired():
    rng = random.Random(7)
    seqs = list(range(500))
    for i in range(5, 500, 5):  # the first packet sets the start
        chunk = seqs[i : i + 5]
        rng.shuffle(chunk)
        seqs[i : i + 5] = chunk
    buf = ReorderBuffer(16)
    out = []
    for p in _packets([s + 65000 for s in seqs]):
        out += buf.push(p)
    assert [p.sequence for p in out] == [(s + 65000) & 0xFFFF for s in range(500)]
    assert buf.lost == 0


@pytest.mark.parametrize(("rate", "step", "expected"), [(90000, 3000, 3000), (48000, 1024, 1920)])
def test_clock_rescales_and_unwraps(rate, step, expected):
    clock = RTPClock(rate, start=500)
    ts = 0xFFFFFFFF - step
    assert clock.ticks(ts) == 500
    assert clock.ticks((ts + step) & 0xFFFFFFFF) == 500 + expected
    assert clock.ticks((ts + 2 * step) & 0xFFFFFFFF) == 500 + 2 * expected
    assert clock.ticks((ts + step) & 0xFFFFFFFF) == 500 + expected  # back a little (B-frame)


def test_reorder_gives_up_on_an_old_gap():
    buf = ReorderBuffer(64, max_wait=0.5)
    assert [p.sequence for p in buf.push(_packets([1])[0], now=10.0)] == [1]
    assert buf.push(_packets([3])[0], now=10.1) == []
    assert buf.expire(10.5) == []  # 0.4 s: still waiting for 2
    assert [p.sequence for p in buf.expire(10.7)] == [3]
    assert buf.lost == 1 and buf.held == 0
    buf.push(_packets([5])[0], now=11.0)
    assert [p.sequence for p in buf.push(_packets([6])[0], now=11.6)] == [5, 6]
