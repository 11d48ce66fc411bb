"""The per-packet fast paths of the RTP depacketizers give what the general paths give:
payloads as ``memoryview`` slices or offsets into the whole packet (no copy), AAC-hbr AU
headers read in place, and the reorder buffer's in-order shortcut, each compared with the
plain path on random input (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from headwater.media.rtp.aac import AACDepacketizer, packetize_aac
from headwater.media.rtp.h264 import H264Depacketizer, packetize_h264
from headwater.media.rtp.h265 import H265Depacketizer, packetize_h265
from headwater.media.rtp.latm import LATMDepacketizer
from headwater.media.rtp.packet import RTPPacket
from headwater.media.rtp.reorder import ReorderBuffer
from headwater.media.rtp.single_frame import FrameDepacketizer

HEADER = bytes(12)

packets = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 3), st.booleans(), st.binary(max_size=60)),
    max_size=30,
)


def _drive(dep, items, how):
    out = []
    for seq, ts, marker, payload in items:
        if how == "packet":
            got = dep.push(RTPPacket(96, seq, ts, 1, payload, marker))
        elif how == "view":
            got = dep.push_fields(seq, ts, marker, memoryview(HEADER + payload), 12)
        else:
            got = dep.push_fields(seq, ts, marker, memoryview(payload)[0:])
        out.append(
            [(t, [bytes(n) for n in p] if isinstance(p, list) else bytes(p)) for t, p in got]
        )
    out.append(dep.flush())
    return out, dep.dropped


@given(st.sampled_from([H264Depacketizer, H265Depacketizer, AACDepacketizer,
                        LATMDepacketizer, FrameDepacketizer]), packets)  # fmt: skip
def test_fuzz_offsets_and_views_equal_whole_packets(kind, items):
    expected = _drive(kind(), items, "packet")
    assert _drive(kind(), items, "view") == expected
    assert _drive(kind(), items, "slice") == expected


@given(st.lists(st.binary(min_size=1, max_size=3000), min_size=1, max_size=6), st.integers(3, 200))
def test_video_from_views_is_bytes_and_round_trips(nalus, mtu):
    nalus = [bytes([0x41]) + n for n in nalus]
    for packetize, dep in ((packetize_h264, H264Depacketizer()),):
        units = []
        for i, (body, marker) in enumerate(packetize(nalus, mtu)):
            wire = memoryview(b"$\x00\x00\x00" + HEADER + body)
            units += dep.push_fields(i, 7, marker, wire, 16)
        assert units == [(7, nalus)]
        assert all(type(n) is bytes for _, au in units for n in au)


def test_h265_from_views():
    nalus = [bytes([0x02, 0x01]) + bytes(range(256)) * 20]
    dep = H265Depacketizer()
    units = []
    for i, (body, marker) in enumerate(packetize_h265(nalus, 300)):
        units += dep.push_fields(i, 9, marker, memoryview(HEADER + body), 12)
    assert units == [(9, nalus)] and type(units[0][1][0]) is bytes


def _aac_packet(sizes, extra=b""):
    headers = b"".join(((s << 3) & 0xFFFF).to_bytes(2, "big") for s in sizes)
    body = b"".join(bytes([i]) * s for i, s in enumerate(sizes))
    return (len(headers) * 8).to_bytes(2, "big") + headers + body + extra


aac_packets = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.integers(0, 2),
        st.booleans(),
        st.one_of(
            st.binary(max_size=30),
            st.builds(_aac_packet, st.lists(st.integers(0, 300), max_size=5)),
            st.builds(_aac_packet, st.lists(st.integers(0, 300), max_size=3), st.binary()),
            st.builds(
                lambda p, n: p[:n],
                st.builds(_aac_packet, st.lists(st.integers(0, 300), max_size=3)),
                st.integers(0, 40),
            ),  # cut short
        ),
    ),
    max_size=20,
)


@given(aac_packets)
def test_fuzz_aac_hbr_fast_path_equals_general_path(items):
    fast = AACDepacketizer()
    general = AACDepacketizer()
    general._hbr = False  # the bit-by-bit AU header reader
    assert fast._hbr
    assert _drive(fast, items, "view") == _drive(general, items, "packet")


def test_aac_several_aus_and_a_fragmented_one():
    dep = AACDepacketizer()
    got = dep.push_fields(1, 1000, True, memoryview(HEADER + _aac_packet([3, 5, 2])), 12)
    assert got == [(1000, b"\x00" * 3), (2024, b"\x01" * 5), (3048, b"\x02" * 2)]
    big = bytes(range(256)) * 10
    (first, _), (second, _) = packetize_aac(big, 1400)
    assert dep.push_fields(2, 5000, False, memoryview(HEADER + first), 12) == []
    assert dep.push_fields(3, 5000, True, memoryview(HEADER + second), 12) == [(5000, big)]


@given(st.lists(st.integers(0, 60), max_size=80), st.integers(1, 16))
def test_fuzz_reorder_in_order_shortcut_equals_push(sequences, size):
    plain, fast = ReorderBuffer(size), ReorderBuffer(size)
    out_plain, out_fast = [], []
    for i, seq in enumerate(sequences):
        packet = RTPPacket(96, (seq + 65500) & 0xFFFF, i, 1, b"")
        out_plain += plain.push(packet, i * 0.01)
        if fast.in_order(packet.sequence):
            out_fast.append(packet)
        else:
            out_fast += fast.push(packet, i * 0.01)
    out_plain += plain.flush()
    out_fast += fast.flush()
    assert [p.sequence for p in out_fast] == [p.sequence for p in out_plain]
    for name in ("received", "lost", "late", "highest", "held"):
        assert getattr(fast, name) == getattr(plain, name), name
