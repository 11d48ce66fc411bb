"""SDP (RFC 8866): parse what real encoders send, write it back, refuse what is not SDP, and
the RTP payload formats read from and written to media sections."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.media.frames import Codec, Track
from headwater.media.rtp.formats import UnsupportedFormat, media_for_track, track_from_media
from headwater.media.sdp import MediaDescription, SDPError, SessionDescription, parse_sdp

# What the imageio-ffmpeg ffmpeg announces for H.264 + AAC (its RTSP muxer, 2 tracks).
FFMPEG_SDP = (
    "v=0\r\n"
    "o=- 0 0 IN IP4 127.0.0.1\r\n"
    "s=No Name\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "a=tool:libavformat 61.7.100\r\n"
    "m=video 0 RTP/AVP 96\r\n"
    "b=AS:200\r\n"
    "a=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z01ADeygoP2AiAAAAwAIAAADAZB4oUyw,"
    "aM4PyA==; profile-level-id=4D400D\r\n"
    "a=control:streamid=0\r\n"
    "m=audio 0 RTP/AVP 97\r\n"
    "b=AS:96\r\n"
    "a=rtpmap:97 MPEG4-GENERIC/48000/2\r\n"
    "a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;"
    " config=119056E500\r\n"
    "a=control:streamid=1\r\n"
)


def test_parse_ffmpeg_announce():
    sdp = parse_sdp(FFMPEG_SDP.encode())
    assert sdp.name == "No Name" and sdp.attribute("tool") == "libavformat 61.7.100"
    video, audio = sdp.media
    assert (video.kind, video.payload_type, video.control) == ("video", 96, "streamid=0")
    assert video.rtpmap().encoding == "H264" and video.rtpmap().clock_rate == 90000
    assert video.fmtp()["packetization-mode"] == "1"
    assert audio.rtpmap().channels == 2 and audio.fmtp()["config"] == "119056E500"
    assert video.bandwidth == ["AS:200"]


def test_round_trip():
    sdp = parse_sdp(FFMPEG_SDP)
    again = parse_sdp(sdp.to_bytes())
    assert again == sdp


def test_bare_line_feeds_and_unknown_lines_are_tolerated():
    sdp = parse_sdp("v=0\nz=whatever\ns=x\nm=audio 5004/2 RTP/AVP 0\nk=clear\n")
    assert sdp.media[0].port == 5004 and sdp.media[0].payload_type == 0


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"v=1\r\n",
        b"hello",
        b"v=0\r\nm=video\r\n",
        b"v=0\r\nm=video x RTP/AVP 96\r\n",
        b"v=0\r\nbad line\r\n",
        b"v=0\r\n\xff\r\n",
        b"v=0\r\n" + b"m=audio 0 RTP/AVP 0\r\n" * 17,
    ],
)
def test_refusals(text):
    with pytest.raises(SDPError):
        parse_sdp(text)


@given(st.binary(max_size=400))
def test_fuzz_bytes(data):
    with contextlib.suppress(SDPError):
        parse_sdp(data)


@given(st.text(alphabet="vosmactb=:0123456789 /\r\nAPRTVH-", max_size=300))
def test_fuzz_sdp_like_text(text):
    with contextlib.suppress(SDPError):
        sdp = parse_sdp("v=0\r\n" + text)
        for media in sdp.media:
            with contextlib.suppress(SDPError):
                track_from_media(media, 0)


def test_formats_from_ffmpeg_sdp():
    video, audio = parse_sdp(FFMPEG_SDP).media
    v = track_from_media(video, 0)
    assert v.track.codec is Codec.H264 and v.clock_rate == 90000 and v.is_nal
    assert (v.track.width, v.track.height) == (320, 240)
    assert len(v.track.parameter_sets) == 2
    a = track_from_media(audio, 1)
    assert a.track.codec is Codec.AAC and a.track.config == bytes.fromhex("119056E500")
    assert (a.track.sample_rate, a.track.channels) == (48000, 2)


def test_h264_without_sprop_parameter_sets():
    """Regression: an SDP without sprop-parameter-sets (learnt in band later) is accepted."""
    media = MediaDescription(
        "video", 0, "RTP/AVP", ["96"], attributes=[("rtpmap", "96 H264/90000")]
    )
    fmt = track_from_media(media, 0)
    assert fmt.track.codec is Codec.H264 and fmt.track.parameter_sets == ()


@pytest.mark.parametrize(
    ("rtpmap", "fmtp", "codec", "rate", "channels"),
    [
        (
            "96 H265/90000",
            "96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8lZgJ;"
            "sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZWaSTK8BaAgAAAwACAAADADIQ;sprop-pps=RAHBcrRiQA==",
            Codec.H265,
            0,
            0,
        ),
        ("97 MP4A-LATM/44100/2", "97 cpresent=0;config=400024203fc0", Codec.AAC, 44100, 2),
        ("98 opus/48000/2", "98 sprop-stereo=1", Codec.OPUS, 48000, 2),
        ("8 PCMA/8000", "", Codec.PCMA, 8000, 1),
        (None, "", Codec.PCMU, 8000, 1),
    ],
)
def test_other_formats(rtpmap, fmtp, codec, rate, channels):
    pt = int((rtpmap or "0").split()[0])
    attrs = [("rtpmap", rtpmap)] if rtpmap else []
    if fmtp:
        attrs.append(("fmtp", fmtp))
    media = MediaDescription("audio", 0, "RTP/AVP", [str(pt)], attributes=attrs)
    track = track_from_media(media, 3).track
    assert track.codec is codec and track.id == 3
    if rate:
        assert (track.sample_rate, track.channels) == (rate, channels)


@pytest.mark.parametrize(
    "attrs",
    [
        [("rtpmap", "96 VP8/90000")],
        [("rtpmap", "96 mpeg4-generic/48000/2"), ("fmtp", "96 mode=CELP-cbr")],
        [("rtpmap", "96 MP4A-LATM/44100/2"), ("fmtp", "96 cpresent=1")],
        [],
    ],
)
def test_unsupported_formats_are_named(attrs):
    media = MediaDescription("video", 0, "RTP/AVP", ["96"], attributes=attrs)
    with pytest.raises(UnsupportedFormat):
        track_from_media(media, 0)


@pytest.mark.parametrize(
    "track",
    [
        Track(
            0,
            Codec.H264,
            parameter_sets=(bytes.fromhex("6742c01ed90280bfe5c0440000030004"), b"\x68\xcb\x8c\xb2"),
        ),
        Track(1, Codec.AAC, config=bytes.fromhex("1190"), sample_rate=48000, channels=2),
        Track(2, Codec.OPUS, sample_rate=48000, channels=2),
        Track(3, Codec.PCMA, sample_rate=8000, channels=1),
        Track(4, Codec.H265, parameter_sets=(b"\x40\x01\x0c", b"\x42\x01\x01", b"\x44\x01\xc1")),
    ],
)
def test_media_for_track_reads_back_as_the_same_track(track):
    sent = media_for_track(track, 96 + track.id, f"trackID={track.id}")
    assert sent is not None and sent.media.control == f"trackID={track.id}"
    sdp = SessionDescription(media=[sent.media])
    back = track_from_media(parse_sdp(sdp.to_bytes()).media[0], track.id).track
    assert back.codec is track.codec
    assert back.parameter_sets == track.parameter_sets
    if track.codec is Codec.AAC:
        assert back.config == track.config


def test_media_for_unsendable_track():
    assert media_for_track(Track(0, Codec.AC3), 96, "trackID=0") is None
