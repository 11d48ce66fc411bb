"""RTP payload formats: every depacketizer fed what its packetizer made at many MTUs, the
traps other servers fell into (each a named regression test), limits and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.media.decode_time import DecodeTimes
from headwater.media.rtp.aac import AACDepacketizer, packetize_aac
from headwater.media.rtp.h264 import H264Depacketizer, packetize_h264
from headwater.media.rtp.h265 import H265Depacketizer, packetize_h265
from headwater.media.rtp.latm import LATMDepacketizer, latm_audio_config
from headwater.media.rtp.limits import MAX_NALUS
from headwater.media.rtp.packet import RTPError, RTPPacket, parse_rtp
from headwater.media.rtp.single_frame import FrameDepacketizer, packetize_frame

H264_AU = [
    bytes.fromhex("6742c01e") + bytes(range(20)),  # SPS
    bytes.fromhex("68ce3c80"),  # PPS
    b"\x65" + bytes(i & 0xFF for i in range(5000)),  # IDR slice, fragmented
    b"\x06\x05\x01\x02",  # SEI
]
H265_AU = [
    b"\x40\x01" + bytes(10),  # VPS
    b"\x42\x01" + bytes(30),
    b"\x44\x01\xc1\x72",
    b"\x26\x01" + bytes(i & 0xFF for i in range(4000)),  # IDR_W_RADL
]


def _rtp(payloads, ts, seq=0):
    return [
        RTPPacket(96, (seq + i) & 0xFFFF, ts, 1, p, marker=m) for i, (p, m) in enumerate(payloads)
    ]


def _run(dep, packets):
    out = []
    for p in packets:
        out += dep.push(p)
    return out + dep.flush()


@pytest.mark.parametrize("mtu", [100, 1000, 1400, 6000])
@pytest.mark.parametrize(
    ("packetize", "depacketizer", "au"),
    [(packetize_h264, H264Depacketizer, H264_AU), (packetize_h265, H265Depacketizer, H265_AU)],
    ids=["h264", "h265"],
)
def test_video_round_trip(mtu, packetize, depacketizer, au):
    packets = _rtp(packetize(au, mtu), 3000) + _rtp(packetize(au[2:], mtu), 6000, seq=500)
    assert all(len(p.payload) <= mtu for p in packets)
    assert sum(p.marker for p in packets) == 2
    dep = depacketizer()
    assert _run(dep, [parse_rtp(p.to_bytes()) for p in packets]) == [(3000, au), (6000, au[2:])]
    assert dep.dropped == 0


def test_h264_stap_a():
    stap = b"\x18" + b"".join(len(n).to_bytes(2, "big") + n for n in H264_AU[:2])
    got = _run(H264Depacketizer(), _rtp([(stap, False), (H264_AU[3], True)], 0))
    assert got == [(0, [H264_AU[0], H264_AU[1], H264_AU[3]])]


def test_h265_aggregation_packet():
    ap = b"\x60\x01" + b"".join(len(n).to_bytes(2, "big") + n for n in H265_AU[:3])
    assert _run(H265Depacketizer(), _rtp([(ap, True)], 0)) == [(0, H265_AU[:3])]


def test_regression_packetization_mode_0_camera_sending_fu_a():
    """A camera declaring packetization-mode=0 still sends FU-A: we take them."""
    packets = _rtp(packetize_h264(H264_AU, 1400), 0)
    assert any(p.payload[0] & 0x1F == 28 for p in packets)
    assert _run(H264Depacketizer(), packets) == [(0, H264_AU)]


def test_access_unit_closes_on_timestamp_change_without_marker():
    packets = [RTPPacket(96, i, 3000 * (i + 1), 1, b"\x41" + bytes(5)) for i in range(3)]
    dep = H264Depacketizer()
    got = [au for p in packets for au in dep.push(p)]
    assert [ts for ts, _ in got] == [3000, 6000]
    assert dep.flush() == [(9000, [b"\x41" + bytes(5)])]


def test_annex_b_wrapped_nal_is_unwrapped():
    payload = b"\x00\x00\x00\x01" + H264_AU[0] + b"\x00\x00\x01" + H264_AU[1]
    assert _run(H264Depacketizer(), _rtp([(payload, True)], 0)) == [(0, H264_AU[:2])]


def test_lost_fragment_drops_only_its_nal_unit():
    packets = _rtp(packetize_h264(H264_AU, 1000), 0)
    fragments = [i for i, p in enumerate(packets) if p.payload[0] & 0x1F == 28]
    del packets[fragments[2]]  # a middle fragment of the IDR slice is lost
    dep = H264Depacketizer()
    got = _run(dep, packets)
    assert got == [(0, [H264_AU[0], H264_AU[1], H264_AU[3]])]
    assert dep.dropped >= 1


def test_nal_count_is_bounded():
    dep = H264Depacketizer()
    packets = [RTPPacket(96, i, 0, 1, b"\x06\x00") for i in range(MAX_NALUS + 10)]
    got = _run(dep, packets)
    assert len(got[0][1]) == MAX_NALUS and dep.dropped == 10


@pytest.mark.parametrize("dep", [H264Depacketizer, H265Depacketizer])
@given(payloads=st.lists(st.binary(max_size=60), max_size=20))
def test_fuzz_video(dep, payloads):
    d = dep()
    for i, p in enumerate(payloads):
        d.push(RTPPacket(96, i, i // 3, 1, p, marker=i % 4 == 3))
    d.flush()


AAC_FRAMES = [bytes((i,)) * (100 + 50 * i) for i in range(6)]


@pytest.mark.parametrize("mtu", [60, 200, 1400])
def test_aac_round_trip_with_fragmentation(mtu):
    packets = []
    seq = 0
    for i, frame in enumerate(AAC_FRAMES):
        for payload, marker in packetize_aac(frame, mtu):
            packets.append(RTPPacket(97, seq, 1024 * i, 1, payload, marker=marker))
            seq += 1
    assert _run(AACDepacketizer(), packets) == [(1024 * i, f) for i, f in enumerate(AAC_FRAMES)]


def test_aac_several_access_units_in_one_packet():
    """ffmpeg's muxer packs several frames per packet: consecutive timestamps, 1024 apart."""
    frames = AAC_FRAMES[:3]
    headers = b"".join(((len(f) << 3) & 0xFFFF).to_bytes(2, "big") for f in frames)
    payload = (16 * len(frames)).to_bytes(2, "big") + headers + b"".join(frames)
    got = _run(AACDepacketizer({"sizelength": "13"}), [RTPPacket(97, 0, 5000, 1, payload, True)])
    assert got == [(5000, frames[0]), (6024, frames[1]), (7048, frames[2])]


def test_aac_lbr_lengths():
    frame = b"\x21" * 40
    payload = b"\x00\x08" + bytes(((40 << 2) & 0xFF,)) + frame
    dep = AACDepacketizer({"sizelength": "6", "indexlength": "2", "indexdeltalength": "2"})
    assert _run(dep, [RTPPacket(97, 0, 0, 1, payload, True)]) == [(0, frame)]


def test_aac_fmtp_out_of_range():
    with pytest.raises(RTPError):
        AACDepacketizer({"sizelength": "40"})


@given(st.lists(st.binary(max_size=40), max_size=10))
def test_fuzz_aac_latm_frames(payloads):
    for dep in (AACDepacketizer(), LATMDepacketizer(), FrameDepacketizer()):
        for i, p in enumerate(payloads):
            dep.push(RTPPacket(97, i, i, 1, p, marker=bool(i % 2)))


def test_latm():
    assert latm_audio_config(bytes.fromhex("400024203fc0")) == bytes.fromhex("1210")
    frame = b"\x55" * 300
    payload = b"\xff" + bytes((300 - 255,)) + frame
    packets = [
        RTPPacket(97, 0, 0, 1, payload[:100]),
        RTPPacket(97, 1, 0, 1, payload[100:], marker=True),
    ]
    assert _run(LATMDepacketizer(), packets) == [(0, frame)]
    with pytest.raises(RTPError):
        latm_audio_config(bytes.fromhex("c00024203fc0"))


def test_single_frame_codecs():
    packets = [
        RTPPacket(0, i, 160 * i, 1, p, m)
        for i, (p, m) in enumerate(packetize_frame(b"\xd5" * 160) * 2)
    ]
    assert _run(FrameDepacketizer(), packets) == [(0, b"\xd5" * 160), (160, b"\xd5" * 160)]


# -- decode timestamps -------------------------------------------------------------------

D = 3600  # one frame at 25 fps


def _decode_order(pattern, gops=3):
    """pts in decode order for a repeated GOP pattern given as display indexes."""
    out = []
    for g in range(gops):
        out += [(g * len(pattern) + i) * D for i in pattern]
    return out


@pytest.mark.parametrize(
    "pattern",
    [
        [0, 3, 1, 2, 6, 4, 5, 9, 7, 8],  # bframes=2, no pyramid
        [0, 4, 2, 1, 3, 8, 6, 5, 7],  # b-pyramid (libx264's default)
        [0, 1, 2, 3, 4],  # no B-frames: passes through at once
    ],
)
def test_regression_ffmpeg_bframes_get_a_valid_dts(pattern):
    """ffmpeg's libx264 output over RTP carries pts only; dts must be monotonic, ≤ pts and
    the sorted pts shifted by one constant (what the encoder had)."""
    timeline = DecodeTimes[int]()
    pts_in = _decode_order(pattern)
    out = []
    for i, pts in enumerate(pts_in):
        out += timeline.push(pts, i)
    out += timeline.flush()
    assert [item for _, _, item in out] == list(range(len(pts_in)))
    dts = [d for _, d, _ in out]
    assert all(d <= p for p, d, _ in out)
    assert dts == sorted(dts) and len(set(dts)) == len(dts)
    shift = sorted(pts_in)[0] - dts[0]
    assert [d + shift for d in dts] == sorted(pts_in)
    if pattern == sorted(pattern):
        assert timeline.reordered is False and shift == 0


def test_decode_times_short_stream_flushes():
    timeline = DecodeTimes[str]()
    assert timeline.push(0, "a") == [] and timeline.push(2 * D, "b") == []
    assert [d for _, d, _ in timeline.push(D, "c") + timeline.flush()] == [-D, 0, D]


def test_decode_times_flush_with_nothing_held():
    timeline = DecodeTimes[str]()
    assert timeline.flush() == []
    assert timeline.push(0, "a") == [] and timeline.flush() == [(0, 0, "a")]
