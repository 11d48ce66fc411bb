"""SPS parsing (H.264 7.3.2.1.1, H.265 7.3.2.2.1) against streams made by the bundled ffmpeg."""

from __future__ import annotations

import contextlib
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.media.annexb import split_annexb
from headwater.media.bitreader import BitReader, BitstreamError, unescape_rbsp
from headwater.media.h264_sps import parse_h264_sps
from headwater.media.h265_sps import parse_h265_sps

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")


def _encode(codec: str, size: str, extra: list[str]) -> bytes:
    """One frame of testsrc in ``size`` as a raw Annex B elementary stream."""
    fmt = "h264" if codec == "libx264" else "hevc"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
           f"testsrc=size={size}:rate=1", "-frames:v", "1", "-c:v", codec, "-pix_fmt", "yuv420p",
           *extra,
           "-f", fmt, "-"]  # fmt: skip
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout


H264_CASES = [
    # size, encoder options, expected (width, height, profile, level)
    ("320x240", ["-profile:v", "baseline", "-level", "3.0"], (320, 240, 66, 30)),
    ("1920x1080", ["-profile:v", "high", "-level", "4.1"], (1920, 1080, 100, 41)),
    ("642x362", ["-profile:v", "main"], (642, 362, 77, None)),
    ("176x144", ["-pix_fmt", "yuv444p"], (176, 144, 244, None)),
    ("352x288", ["-flags", "+ildct", "-x264opts", "interlaced=1"], (352, 288, 100, None)),
    ("128x96", ["-x264opts", "cqm=jvt"], (128, 96, 100, None)),
]


@pytest.mark.parametrize(("size", "extra", "expected"), H264_CASES)
def test_h264_sps_from_ffmpeg(size: str, extra: list[str], expected: tuple) -> None:
    """Width/height (cropping applied), profile and level match what ffmpeg was told."""
    nalus = split_annexb(_encode("libx264", size, ["-x264-params", "log-level=none", *extra]))
    sps = next(n for n in nalus if n[0] & 0x1F == 7)
    info = parse_h264_sps(sps)
    width, height, profile, level = info
    assert (width, height, profile) == expected[:3]
    if expected[3] is not None:
        assert level == expected[3]


H265_CASES = [
    ("320x240", [], (320, 240, 1)),
    ("1920x1080", [], (1920, 1080, 1)),
    ("642x362", ["-pix_fmt", "yuv420p10le"], (642, 362, 2)),
    ("200x120", ["-pix_fmt", "yuv444p"], (200, 120, 4)),
]


@pytest.mark.parametrize(("size", "extra", "expected"), H265_CASES)
def test_h265_sps_from_ffmpeg(size: str, extra: list[str], expected: tuple) -> None:
    """Width/height (conformance window applied) and general profile match."""
    data = _encode("libx265", size, ["-x265-params", "log-level=none", *extra])
    sps = next(n for n in split_annexb(data) if (n[0] >> 1) & 0x3F == 33)
    width, height, profile, level = parse_h265_sps(sps)
    assert (width, height, profile) == expected
    assert level % 3 == 0 and 30 <= level <= 186


def test_unescape_removes_only_emulation_prevention() -> None:
    """``00 00 03`` loses its 03; an ``03`` elsewhere stays; back-to-back escapes both go."""
    assert unescape_rbsp(b"\x01\x00\x00\x03\x01\x03") == b"\x01\x00\x00\x01\x03"
    assert unescape_rbsp(b"\x00\x00\x03\x00\x00\x03\x00") == b"\x00\x00\x00\x00\x00"
    assert unescape_rbsp(b"\x00\x03\x00") == b"\x00\x03\x00"


def test_exp_golomb_table() -> None:
    """ue(v)/se(v) codes of H.264 table 9-2 and 9-3."""
    # bits: 1 | 010 | 011 | 00100 | 00101 -> ue 0,1,2,3,4 ; then se of 010 (1) and 011 (-1)
    bits = "1" + "010" + "011" + "00100" + "00101" + "010" + "011"
    bits += "0" * (-len(bits) % 8)
    r = BitReader(int(bits, 2).to_bytes(len(bits) // 8, "big"))
    assert [r.ue() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert [r.se(), r.se()] == [1, -1]


def test_truncated_sps_is_a_bitstream_error() -> None:
    """Every prefix of a real SPS either parses or raises BitstreamError."""
    nalus = split_annexb(_encode("libx264", "320x240", ["-x264-params", "log-level=none"]))
    sps = next(n for n in nalus if n[0] & 0x1F == 7)
    for end in range(len(sps)):
        with contextlib.suppress(BitstreamError):
            parse_h264_sps(sps[:end])
    with pytest.raises(BitstreamError):
        parse_h264_sps(sps[:5])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.booleans())
def test_fuzz_sps_raises_only_bitstream_error(data: bytes, hevc: bool) -> None:
    """Random bytes after a valid NAL header: a result or a BitstreamError, nothing else."""
    try:
        if hevc:
            parse_h265_sps(b"\x42\x01" + data)
        else:
            parse_h264_sps(b"\x67" + data)
    except BitstreamError:
        pass
