"""The TS reader's video frames: keyframe from the first VCL unit, size as carried.

The reader no longer scans a video PES for its NAL units on arrival: the keyframe flag is
read from the first VCL unit (:func:`access_unit_key`), a frame that is not a keyframe
holds its access unit unscanned (:meth:`Frame.from_access_unit`, units found when a
consumer asks), and a video frame's ``size`` is the access unit as carried in its PES,
start codes and delimiters included — the size ffmpeg gives the same packet. These cases
check the flag against the full scan's (the frozen reader's rule: an IDR / IRAP unit
anywhere) on access units of every shape a conforming encoder makes, the sizes against
ffmpeg's packets, and the frame's lazy units. (That frames, units and flags equal the
frozen reader's on real and damaged streams is ``test_reader_oracle.py``'s part.)
"""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import legacy_reader
import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.media.annexb import (
    access_unit_bounds,
    access_unit_key,
    annexb_bounds,
    cut_units,
    split_annexb,
)
from headwater.media.frames import Codec, Frame, Track
from headwater.media.mpegts import TSReader

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
H264 = Track(256, Codec.H264)
H265 = Track(256, Codec.H265)


def _full_scan_key(data: bytes, hevc: bool) -> bool:
    """The frozen reader's rule: an IDR slice (H.264) or IRAP unit (H.265) anywhere."""
    units = split_annexb(data)
    if hevc:
        return any(16 <= (u[0] >> 1) & 0x3F <= 21 for u in units)
    return any(u[0] & 0x1F == 5 for u in units)


def _header(t: int, hevc: bool) -> bytes:
    return bytes(((t << 1) & 0x7E, 1)) if hevc else bytes((0x60 | t,))


_START = st.sampled_from([b"\x00\x00\x01", b"\x00\x00\x00\x01"])


def _escaped(rbsp: bytes) -> bytes:
    """``rbsp`` with emulation prevention (H.264 7.4.1, H.265 7.4.2): a 3 after every two
    zeros that a byte of at most 3 follows, so no start code appears inside a unit."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


_BODY = st.binary(max_size=40).map(lambda b: _escaped(b) + b"\x80")


@st.composite
def access_units(draw, hevc: bool) -> bytes:
    """A conforming access unit: non-VCL units (AUD, parameter sets, SEI, reserved types),
    then one picture whose VCL units all share a type, then maybe more non-VCL units; with
    3- and 4-byte start codes, empty units, trailing zeros and leading junk."""
    if hevc:
        non_vcl = st.sampled_from([32, 33, 34, 35, 39, 40, 41, 48, 62])
        vcl = draw(st.sampled_from([0, 1, 2, 8, 9, 16, 17, 18, 19, 20, 21, 22, 23, 31]))
    else:
        non_vcl = st.sampled_from([0, 6, 7, 8, 9, 10, 12, 13, 14, 15, 19, 24, 30])
        vcl = draw(st.sampled_from([1, 2, 5]))
    types = [*draw(st.lists(non_vcl, max_size=4)), *[vcl] * draw(st.integers(0, 3))]
    types += draw(st.lists(non_vcl, max_size=2))
    out = [draw(st.sampled_from([b"", b"\x00", b"\x07\x00"]))]
    for t in types:
        out.append(draw(_START))
        if draw(st.integers(0, 7)) == 0:
            out.append(draw(_START))  # an empty unit before this one
        out += (_header(t, hevc), draw(_BODY), b"\x00" * draw(st.integers(0, 2)))
    return b"".join(out)


@given(st.booleans(), st.data())
def test_first_vcl_unit_gives_the_full_scans_keyframe_flag(hevc, data) -> None:
    au = data.draw(access_units(hevc))
    framed = b"\xe0\x00\x00" + au + b"\x00\x00\x01\x65"
    key = access_unit_key(framed, 3, 3 + len(au), hevc)
    if not annexb_bounds(au) or b"\x00\x00\x01" not in au:
        assert key in (None, False)
        return
    assert key is _full_scan_key(au, hevc)


@given(st.binary(max_size=200), st.booleans())
def test_any_bytes_give_the_first_vcl_units_flag(au, hevc) -> None:
    """Whatever the bytes, the flag is the first VCL unit's (of the units the full scan
    finds; the frozen reader's rule since this change), or None without a start code; and
    the full scan's wherever the units hold at most one VCL type."""
    key = access_unit_key(au, 0, len(au), hevc)
    units = split_annexb(au)
    if b"\x00\x00\x01" not in au:
        assert key is None
        return
    assert key is legacy_reader._first_vcl_key(units, hevc)
    vcl = {(u[0] >> 1) & 0x3F if hevc else u[0] & 0x1F for u in units}
    vcl &= set(range(32)) if hevc else {1, 2, 3, 4, 5}
    if len(vcl) <= 1:
        assert key is _full_scan_key(au, hevc)


def test_type_zero_units_and_empty_units() -> None:
    # H.265 TRAIL_N has the header byte 0: a unit, not an empty one
    assert access_unit_key(b"\x00\x00\x01\x46\x01\x00\x00\x01\x00\x01\xaa", 0, 11, True) is False
    assert access_unit_key(b"\x00\x00\x01\x00\x00\x00\x01\x28\x01\xaa", 0, 10, True) is True
    assert access_unit_key(b"\x00\x00\x01\x00\x00", 0, 5, True) is False  # zeros only
    # H.265 IRAP types 16 to 21 are keyframes; 22 and 23 are reserved IRAP types: not
    for t, key in [(15, False), (16, True), (21, True), (22, False), (23, False)]:
        au = b"\x00\x00\x01\x46\x01\x50\x00\x00\x01" + _header(t, True) + b"\xaa"
        assert access_unit_key(au, 0, len(au), True) is key is _full_scan_key(au, True)
    # H.264: type 0 is no slice; the IDR after it decides
    assert access_unit_key(b"\x00\x00\x01\x00\x17\x00\x00\x01\x65\x88", 0, 10, False) is True
    assert access_unit_key(b"\x00\x00\x01\x09\xf0", 0, 5, False) is False  # no slice at all
    assert access_unit_key(b"\x65\x88\x84", 0, 3, False) is None  # no start code


AU = b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x06\x05\x01\x80\x00\x00\x01\x41" + bytes(range(1, 90))


@pytest.mark.parametrize("wrap", [bytes, bytearray])
def test_an_unscanned_frame_finds_and_cuts_its_units_when_asked(wrap) -> None:
    buffer = wrap(b"\x00" * 7 + AU + b"\x00\x00\x01\xe0")
    frame = Frame.from_access_unit(H264, 3000, 0, False, buffer, 7, 7 + len(AU))
    assert frame.size == len(AU) and frame.data == b"" and frame.flv_body == b""
    expected = (b"\x06\x05\x01\x80", b"\x41" + bytes(range(1, 90)))  # the AUD left out
    views = frame.nalu_views()
    assert all(type(v) is memoryview for v in views)
    assert tuple(bytes(v) for v in views) == expected
    units = frame.nalus
    assert units == expected and all(type(u) is bytes for u in units)
    assert frame.nalus is units and frame.size == len(AU)  # the size does not change
    frame.nalus = (b"\x65\x88",)
    assert frame.nalus == (b"\x65\x88",) and frame.size == 2


def test_access_unit_bounds_leave_delimiters_out() -> None:
    au = b"\x00\x00\x01\x46\x01\x10\x00\x00\x01\x02\x01\xaa\x00\x00\x01\x46\x01\x20"
    assert cut_units(au, access_unit_bounds(au, 0, len(au), True)) == (b"\x02\x01\xaa",)
    assert cut_units(AU, access_unit_bounds(AU, 0, len(AU), False)) == tuple(split_annexb(AU)[1:])


def _video_packet_sizes(data: bytes, tmp_path) -> list[int]:
    path = tmp_path / "clip.ts"
    path.write_bytes(data)
    cmd = [FFMPEG, "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy", "-f",
           "framecrc", "-"]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout.decode()
    return [int(line.split(",")[4]) for line in out.splitlines() if not line.startswith("#")]


@pytest.mark.parametrize("video", ["h264", "h265"])
def test_video_frame_sizes_are_ffmpegs_packet_sizes(ts_clip, tmp_path, video) -> None:
    data = ts_clip(video, "aac")
    reader = TSReader()
    events = reader.feed(data) + reader.flush()
    frames = [e for e in events if isinstance(e, Frame) and e.track.is_video]
    assert len(frames) > 40 and sum(f.keyframe for f in frames) >= 1
    assert [f.size for f in frames] == _video_packet_sizes(data, tmp_path)
    # a frame that is not a keyframe was not scanned, a keyframe not cut: its units are
    # found or cut when asked for
    for f in frames:
        assert f._annexb is not None and (f._annexb[1] is None) is not f.keyframe
        assert f.nalus and f.size >= sum(map(len, f.nalus)) + 3 * len(f.nalus)
