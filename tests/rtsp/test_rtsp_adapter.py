"""RTP ↔ frames for one session, without sockets: what a player is sent is what a
publisher's adapter rebuilds; parameter sets learnt in band; tracks aligned; loss counted
and reported in receiver reports; sender reports to players."""

from __future__ import annotations

from headwater.media.frames import Codec, Frame, Track
from headwater.media.rtp.formats import media_for_track, track_from_media
from headwater.media.rtp.packet import RTPPacket, parse_rtp
from headwater.media.rtp.rtcp import SenderReport, parse_rtcp, sender_report
from headwater.media.sdp import MediaDescription
from headwater_rtsp.adapter import PlayAdapter, PublishAdapter

SPS = bytes.fromhex("674d400deca0a0fd8088000003000800000301907828532c")
PPS = bytes.fromhex("68ce0fc8")
H264 = Track(0, Codec.H264, parameter_sets=(SPS, PPS), width=320, height=240)
AAC = Track(1, Codec.AAC, config=bytes.fromhex("1190"), sample_rate=48000, channels=2)
PATTERN = [0, 3, 1, 2, 6, 4, 5]  # display order indexes in decode order (B-frames)


def source_frames() -> list[Frame]:
    frames = []
    for gop in range(2):
        for n, i in enumerate(PATTERN):
            pts = (gop * 7 + i) * 3600 + 7200
            key = n == 0
            nalus = (b"\x65" if key else b"\x41") + bytes([gop, n]) * 900
            frames.append(Frame(H264, pts, 0, key, nalus=(nalus,)))
            audio_pts = (gop * 7 + n) * 1920
            frames.append(Frame(AAC, audio_pts, audio_pts, True, data=bytes([n]) * 200))
    return frames


def loop(frames, udp=False, impair=None):
    """Frames → PlayAdapter → RTP → (impair) → PublishAdapter → frames."""
    sent = [media_for_track(t, 96 + t.id, f"trackID={t.id}") for t in (H264, AAC)]
    player = PlayAdapter(sent, [0, 1], wall_clock=1000.0)
    formats = [track_from_media(f.media, i) for i, f in enumerate(sent)]
    publisher = PublishAdapter(formats, udp=udp)
    packets = [p for f in frames for p in player.packets(f)]
    if impair:
        packets = impair(packets)
    out = []
    for index, rtcp, data in packets:
        if rtcp:
            publisher.rtcp(index, data, 5.0)
        else:
            out += publisher.rtp(index, data, 5.0)
    return out + publisher.flush(), publisher, packets


def test_play_then_publish_is_lossless():
    frames = source_frames()
    got, publisher, packets = loop(frames)
    video = [f for f in got if f.track.is_video]
    source = [f for f in frames if f.track.is_video]
    # keyframes gained their parameter sets in front; everything else is byte for byte
    assert [f.nalus for f in video] == [
        ((SPS, PPS) if f.keyframe else ()) + f.nalus for f in source
    ]
    assert [f.keyframe for f in video] == [f.keyframe for f in source]
    shift = video[0].pts - source[0].pts
    assert [f.pts - shift for f in video] == [f.pts for f in source]
    assert all(f.dts <= f.pts for f in video)
    assert [f.dts for f in video] == sorted({f.dts for f in video})
    audio = [f for f in got if f.track.is_audio]
    assert [f.data for f in audio] == [f.data for f in frames if f.track.is_audio]
    assert [f.pts - audio[0].pts for f in audio] == [n * 1920 for n in range(14)]
    assert (publisher.lost, publisher.dropped, publisher.malformed) == (0, 0, 0)
    # a sender report opens each medium
    first = {}
    for index, rtcp, _data in packets:
        first.setdefault(index, rtcp)
    assert first == {0: True, 1: True}
    assert isinstance(parse_rtcp(packets[0][2])[0], SenderReport)


def test_regression_sdp_without_sprop_parameter_sets_learns_them_in_band():
    media = MediaDescription(
        "video", 0, "RTP/AVP", ["96"], attributes=[("rtpmap", "96 H264/90000")]
    )
    fmt = track_from_media(media, 0)
    adapter = PublishAdapter([fmt])
    frames = []
    seq = 0
    for i, nalus in enumerate([[b"\x41" + bytes(10)], [SPS, PPS, b"\x65" + bytes(10)]]):
        for n in nalus:
            seq += 1
            pkt = RTPPacket(96, seq, i * 3000, 1, n, marker=n is nalus[-1])
            frames += adapter.rtp(0, pkt.to_bytes(), 1.0)
    frames += adapter.flush()
    assert adapter.waiting == 1  # the frame before the parameter sets could not be used
    assert len(frames) == 1 and frames[0].keyframe
    assert frames[0].track.parameter_sets == (SPS, PPS)
    assert (frames[0].track.width, frames[0].track.height) == (320, 240)


def test_tracks_are_aligned_on_their_first_packets():
    sent = [media_for_track(t, 96 + t.id, f"trackID={t.id}") for t in (H264, AAC)]
    formats = [track_from_media(f.media, i) for i, f in enumerate(sent)]
    adapter = PublishAdapter(formats)
    adapter.rtp(0, RTPPacket(96, 1, 123456, 1, b"\x65" + bytes(5), True).to_bytes(), 10.0)
    (audio,) = adapter.rtp(1, RTPPacket(97, 1, 999, 2, b"\x00\x10\x00\x10\xaa\xbb", True)
                           .to_bytes(), 10.2)  # fmt: skip
    assert audio.pts == 18000  # 0.2 s after the video's first packet


def test_loss_is_counted_and_reported():
    def drop_one(packets):
        rtp = [i for i, (idx, rtcp, _) in enumerate(packets) if idx == 1 and not rtcp]
        return [p for i, p in enumerate(packets) if i != rtp[3]]

    got, publisher, _ = loop(source_frames(), udp=True, impair=drop_one)
    assert len([f for f in got if f.track.is_audio]) == 13
    assert publisher.lost == 1
    reports = dict(publisher.receiver_reports(now=6.0))
    report = reports[1]
    assert report[1] == 201 and report[12] > 0  # RR, fraction lost
    assert int.from_bytes(report[13:16], "big") == 1  # cumulative lost
    assert int.from_bytes(report[24:28], "big") != 0  # LSR from the player's sender report
    assert int.from_bytes(report[28:32], "big") == 65536  # 1 s since it, in 1/65536 s


def test_malformed_and_foreign_packets_are_counted():
    sent = [media_for_track(H264, 96, "trackID=0")]
    adapter = PublishAdapter([track_from_media(sent[0].media, 0)])
    assert adapter.rtp(0, b"\x00garbage", 1.0) == []
    assert adapter.rtp(0, RTPPacket(100, 1, 0, 1, b"\x65").to_bytes(), 1.0) == []
    assert adapter.rtp(5, RTPPacket(96, 1, 0, 1, b"\x65").to_bytes(), 1.0) == []
    adapter.rtcp(0, b"\x00bad", 1.0)
    assert adapter.malformed == 3
    sr = sender_report(1, 2, 3, 4, 5)
    adapter.rtcp(0, sr, 1.0)  # taken, no packets yet: no receiver report
    assert adapter.receiver_reports(2.0) == []
    assert parse_rtp(RTPPacket(96, 1, 0, 1, b"x").to_bytes()).payload == b"x"
