"""The FLV per-frame fast paths give exactly what the general paths give.

:class:`FlvDemuxer` splits legacy AVC bodies with an inlined splitter and keeps the body
on the frame (``Frame.flv_body``) when re-muxing would give the same bytes;
:class:`FlvMuxer` then sends that body as is. Both are checked against the general code
(``split_avcc`` and ``encode_video_frame``) on table cases and on hypothesis-made bodies:
NAL units of any length (empty ones too), every frame type, negative and large
composition offsets, truncated and padded bodies.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.media import h264
from headwater.media.avcc import AVCCError, split_avcc
from headwater.media.flv import FlvDemuxer, FlvMuxer
from headwater.media.flv import video as flv_video
from headwater.media.frames import Codec, Frame

SPS = bytes.fromhex("6742c01e95a0a0fd0800000300080000030190")
PPS = bytes.fromhex("68ce3c80")


def _configured() -> FlvDemuxer:
    demux = FlvDemuxer()
    record = h264.build_avc_config([SPS], [PPS])
    demux.video(0, flv_video.encode_video_config(Codec.H264, record))
    return demux


def _body(frame_type: int, cts: int, nalus: list[bytes], tail: bytes = b"") -> bytes:
    head = bytes((frame_type << 4 | 7, 1)) + (cts & 0xFFFFFF).to_bytes(3, "big")
    return head + b"".join(struct.pack(">I", len(n)) + n for n in nalus) + tail


def _expected(timestamp: int, body: bytes) -> tuple[int, int, bool, tuple[bytes, ...]]:
    """What the general path makes of a legacy AVC frame body (the oracle)."""
    nalus = tuple(split_avcc(memoryview(body)[5:], 4))
    cts = int.from_bytes(body[2:5], "big", signed=True)
    return (timestamp + cts) * 90, timestamp * 90, body[0] >> 4 == 1, nalus


def _check(timestamp: int, body: bytes) -> None:
    try:
        expected = _expected(timestamp, body)
    except AVCCError as exc:
        with pytest.raises(AVCCError, match=str(exc).split(" bytes")[0]):
            _configured().video(timestamp, body)
        return
    demux = _configured()
    (frame,) = demux.video(timestamp, body)
    # A kept body's NAL units are cut on demand: the size is right before they exist.
    assert frame.size == sum(map(len, expected[3]))
    assert (frame.pts, frame.dts, frame.keyframe, frame.nalus) == expected
    assert all(type(n) is bytes for n in frame.nalus)
    # The muxer's output is the same whether it uses the kept body or joins the NAL units.
    plain = Frame(frame.track, frame.pts, frame.dts, frame.keyframe, nalus=frame.nalus)
    with_body, without = FlvMuxer(), FlvMuxer()
    for mux in (with_body, without):  # past the sequence header: the per-frame path
        mux.frame(Frame(frame.track, 0, 0, True, nalus=(b"\x65\x88",)))
    assert with_body.frame(frame) == without.frame(plain)
    if frame.flv_body:
        assert frame.flv_body is body
        assert frame.flv_body == flv_video.encode_video_frame(
            Codec.H264, frame.keyframe, frame.pts // 90 - frame.dts // 90, frame.nalus
        )


@pytest.mark.parametrize(
    ("frame_type", "cts", "nalus", "tail", "kept"),
    [
        (1, 0, [b"\x65" + bytes(100)], b"", True),
        (2, 80, [b"\x09\xf0", b"\x41" + bytes(3000)], b"", True),
        (2, -40, [b"\x41\x9a"], b"", True),  # negative composition offset
        (2, 0x7FFFFF, [b"\x41"], b"", True),
        (1, 0, [b"\x06\x05", b"", b"\x65\x88"], b"", False),  # an empty NAL unit is dropped
        (3, 0, [b"\x01\x9e"], b"", False),  # disposable inter frame: written back as type 2
        (4, 0, [b"\x65\x88"], b"", False),  # generated keyframe
        (0, 0, [b"\x65\x88"], b"", False),
        (1, 0, [], b"", True),  # no NAL unit at all
        (2, 0, [b"\x41\x9a"], b"\x00\x00", None),  # stray bytes: an error
        (2, 0, [b"\x41\x9a"], b"\x00\x00\x00\x09\x41", None),  # runs past the end
    ],
)
def test_table(
    frame_type: int, cts: int, nalus: list[bytes], tail: bytes, kept: bool | None
) -> None:
    body = _body(frame_type, cts, nalus, tail)
    _check(1000, body)
    if kept is not None:
        (frame,) = _configured().video(1000, body)
        assert bool(frame.flv_body) is kept


def test_memoryview_body_is_not_kept() -> None:
    body = _body(1, 0, [b"\x65\x88\x84"])
    (frame,) = _configured().video(0, memoryview(body))
    assert frame.nalus == (b"\x65\x88\x84",) and frame.flv_body == b""
    assert all(type(n) is bytes for n in frame.nalus)


def test_other_length_sizes_are_not_kept() -> None:
    demux = FlvDemuxer()
    record = bytearray(h264.build_avc_config([SPS], [PPS]))
    record[4] = 0xFC | 1  # 2-byte NAL lengths
    demux.video(0, flv_video.encode_video_config(Codec.H264, bytes(record)))
    body = bytes((0x17, 1, 0, 0, 0)) + b"\x00\x03\x65\x88\x84"
    (frame,) = demux.video(0, body)
    assert frame.nalus == (b"\x65\x88\x84",) and frame.flv_body == b""


@settings(max_examples=400, deadline=None)
@given(
    frame_type=st.integers(0, 7).filter(lambda t: t != 5),
    cts=st.integers(-(1 << 23), (1 << 23) - 1),
    nalus=st.lists(st.binary(max_size=40), max_size=6),
    tail=st.binary(max_size=6),
    timestamp=st.integers(0, (1 << 31) - 1),
)
def test_fuzzed_bodies(
    frame_type: int, cts: int, nalus: list[bytes], tail: bytes, timestamp: int
) -> None:
    _check(timestamp, _body(frame_type, cts, nalus, tail))


@settings(max_examples=200, deadline=None)
@given(body=st.binary(min_size=5, max_size=60))
def test_fuzzed_raw_bytes(body: bytes) -> None:
    _check(500, bytes((0x27, 1)) + body[2:])


def test_nalus_cut_from_the_body_on_demand() -> None:
    """A frame holding its body alone makes its NAL units once, keeps them; setting them
    replaces the content and forgets the body."""
    body = _body(1, 0, [b"\x06\x05", b"\x65" + bytes(50)])
    (frame,) = _configured().video(0, body)
    assert frame.flv_body is body and frame.size == 53
    units = frame.nalus
    assert units == (b"\x06\x05", b"\x65" + bytes(50)) and frame.nalus is units
    assert "nalus=(b'\\x06\\x05'" in repr(frame)
    frame.nalus = (b"\x65\x88",)
    assert frame.flv_body == b"" and frame.size == 2
    plain = Frame(frame.track, 0, 0, nalus=(b"\x41",), flv_body=b"")
    assert plain.size == 1 and Frame(frame.track, 0, 0, data=b"abc").size == 3


@pytest.mark.parametrize("wrap", [bytes, memoryview, bytearray])
def test_raw_aac_frames_carry_bytes_whatever_the_body(wrap) -> None:
    """The AAC per-frame path gives ``data`` as ``bytes`` equal to the body past its two
    header bytes, from bytes, memoryview and bytearray bodies alike."""
    from headwater.media.flv import audio as flv_audio

    demux = FlvDemuxer()
    demux.audio(0, flv_audio.encode_audio_config(Codec.AAC, b"\x11\x90"))
    body = b"\xaf\x01" + bytes(range(200))
    (frame,) = demux.audio(40, wrap(body))
    assert type(frame.data) is bytes and frame.data == body[2:]
    assert (frame.pts, frame.dts, frame.keyframe, frame.nalus) == (3600, 3600, True, ())
