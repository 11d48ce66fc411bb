"""RFC 6381 CODECS strings from Tracks (headwater.media.hls.codecs), table-driven."""

from __future__ import annotations

import pytest

from headwater.media.aac import AudioSpecificConfig
from headwater.media.frames import Codec, Track
from headwater.media.hls import codec_string, codecs_attribute, resolution_of

# SPS NAL units written by the bundled ffmpeg (x264 high@3.1, x265 main) for 320x240.
X264_HIGH_31 = bytes.fromhex("6764001facd94141fb011000000300100000030020f1831960")
X265_MAIN = bytes.fromhex(
    "42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003000210"
)
PPS = bytes.fromhex("68ebe3cb22c0")

CASES = [
    # id, track, expected codec string
    ("h264-high-3.1", Track(1, Codec.H264, parameter_sets=(X264_HIGH_31, PPS)), "avc1.64001f"),
    (
        "h264-baseline-3.0",
        Track(1, Codec.H264, parameter_sets=(b"\x67\x42\xc0\x1e",)),
        "avc1.42c01e",
    ),
    (
        "h264-pps-before-sps",
        Track(1, Codec.H264, parameter_sets=(PPS, X264_HIGH_31)),
        "avc1.64001f",
    ),
    ("h264-unknown-yet", Track(1, Codec.H264), "avc1"),
    ("h264-short-sps", Track(1, Codec.H264, parameter_sets=(b"\x67\x64",)), "avc1"),
    ("h265-main", Track(1, Codec.H265, parameter_sets=(X265_MAIN,)), "hvc1.1.6.L60.90"),
    ("h265-unknown-yet", Track(1, Codec.H265), "hvc1"),
    ("h265-short-sps", Track(1, Codec.H265, parameter_sets=(b"\x42\x01\x01\x01",)), "hvc1"),
    (
        "aac-lc",
        Track(2, Codec.AAC, config=AudioSpecificConfig.build(2, 48000, 2).to_bytes()),
        "mp4a.40.2",
    ),
    (
        "he-aac",
        Track(2, Codec.AAC, config=AudioSpecificConfig.build(5, 24000, 2).to_bytes()),
        "mp4a.40.5",
    ),
    ("aac-no-config", Track(2, Codec.AAC), "mp4a.40.2"),
    ("aac-broken-config", Track(2, Codec.AAC, config=b"\x12"), "mp4a.40.2"),
    ("mp3", Track(2, Codec.MP3), "mp4a.40.34"),
    ("mp2", Track(2, Codec.MP2), "mp4a.40.33"),
    ("ac3", Track(2, Codec.AC3), "ac-3"),
    ("eac3", Track(2, Codec.EAC3), "ec-3"),
    ("opus", Track(2, Codec.OPUS), "Opus"),
    ("pcma-has-no-name", Track(2, Codec.PCMA), None),
    ("data-has-no-name", Track(3, Codec.DATA), None),
]


@pytest.mark.parametrize(("track", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_codec_string(track: Track, expected: str | None) -> None:
    assert codec_string(track) == expected


def test_codecs_attribute_puts_video_first_and_skips_unnamed() -> None:
    tracks = [
        Track(2, Codec.AAC, config=AudioSpecificConfig.build(2, 44100, 2).to_bytes()),
        Track(3, Codec.DATA),
        Track(1, Codec.H264, parameter_sets=(X264_HIGH_31, PPS)),
        Track(4, Codec.AAC),  # a second AAC track gives no second entry
    ]
    assert codecs_attribute(tracks) == "avc1.64001f,mp4a.40.2"
    assert codecs_attribute([]) == ""


def test_resolution_of_first_video_track_with_a_size() -> None:
    assert resolution_of([Track(2, Codec.AAC), Track(1, Codec.H264, width=1280, height=720)]) == (
        1280,
        720,
    )
    assert resolution_of([Track(1, Codec.H264)]) is None
