"""A video body still in its RTMP chunks (:class:`FlvChunks`) gives exactly what the joined
body gives.

The RTMP chunk reader hands a video message whose chunks are all in one read over as views
of that read (``take``-byte pieces with a one-byte chunk header between them), and the
demuxer keeps them on the frame (:meth:`Frame.from_flv_chunks`) instead of a joined copy.
The oracle is the joined body through :meth:`FlvDemuxer.video`: the same frames (times,
keyframe flag, size, NAL units, FLV body), the same errors, the same clock afterwards, for
table cases and hypothesis bodies cut at every chunk size (NAL lengths cut by a chunk
header included); the muxer's bodies are the same bytes with and without the chunks.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.media import h264
from headwater.media.flv import FlvDemuxer, FlvMuxer
from headwater.media.flv import video as flv_video
from headwater.media.frames import Codec, FlvChunks, Frame

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


def chunked(body: bytes, take: int, header: int = 0xC6) -> FlvChunks:
    """``body`` as a publisher's chunks of ``take`` bytes on chunk stream 6 (the header
    byte between them), held as a view as the chunk reader holds it."""
    pieces = [body[i : i + take] for i in range(0, len(body), take)] or [b""]
    wire = bytes((header,)).join(pieces)
    return FlvChunks(memoryview(wire), take, len(body))


def _state(frame: Frame) -> tuple[object, ...]:
    return (
        (frame.track.id, frame.track.codec),
        frame.pts,
        frame.dts,
        frame.keyframe,
        frame.size,
        frame.data,
        frame.nalus,
        frame.flv_body,
        tuple(bytes(v) for v in frame.nalu_views()),
    )


def _check(timestamp: int, body: bytes, take: int) -> None:
    oracle = _configured()
    try:
        expected = oracle.video(timestamp, body)
    except ValueError as exc:  # every media error is a ValueError
        with pytest.raises(type(exc)) as raised:
            _configured().video_chunks(timestamp, chunked(body, take))
        assert str(raised.value) == str(exc)
        return
    demux = _configured()
    got = demux.video_chunks(timestamp, chunked(body, take))
    assert [f.size for f in got] == [f.size for f in expected]  # before anything is joined
    # Where the joined body's frame holds that body, this one holds the chunks instead.
    held = [bool(f.flv_body) and take >= 16 for f in expected]
    assert [f.flv_chunks is not None for f in got] == held
    assert [_state(f) for f in got] == [_state(f) for f in expected]
    assert (demux._clock._epoch, demux._clock._last) == (oracle._clock._epoch, oracle._clock._last)
    # The muxer's bodies: the chunks when asked for them, else the body; the same bytes.
    for frames in (got, demux.video_chunks(timestamp + 1, chunked(body, take))):
        with_chunks = FlvMuxer().bodies(frames, chunks=True)
        plain = FlvMuxer().bodies(frames)
        assert [(k, t, b.join() if isinstance(b, FlvChunks) else b) for k, t, b in with_chunks] == [
            (k, t, b) for k, t, b in plain
        ]


@pytest.mark.parametrize("take", [16, 17, 20, 128, 4096])
@pytest.mark.parametrize(
    "body",
    [
        _body(1, 0, [b"\x65" + bytes(range(256)) * 40]),
        _body(2, -40, [b"\x09\xf0", b"\x41" + bytes(3000)]),
        _body(1, 80, [b"\x06" * 13, b"\x65" * 14, b"\x65" * 15, b"\x65" * 16]),  # lengths cut
        _body(2, 0, [b"\x41", b""]),  # an empty unit: the joined path
        _body(2, 0, [b"\x41" * 30], tail=b"\x00\x00"),  # stray bytes: the fault
        _body(2, 0, [b"\x41" * 30])[:-3],  # a unit runs past the end
        _body(3, 0, [b"\x41" * 30]),  # a disposable frame: the joined path
        _body(5, 0, [b"\x41" * 30]),  # a command frame: the joined path
        _body(1, 0, []),
    ],
)
def test_table(body: bytes, take: int) -> None:
    _check(1000, body, take)


@settings(max_examples=400, deadline=None)
@given(
    frame_type=st.integers(0, 7),
    cts=st.integers(-(1 << 23), (1 << 23) - 1),
    nalus=st.lists(st.binary(max_size=60), max_size=6),
    tail=st.binary(max_size=6),
    timestamp=st.integers(0, (1 << 32) - 1),
    take=st.integers(1, 70),
)
def test_fuzzed_bodies(
    frame_type: int, cts: int, nalus: list[bytes], tail: bytes, timestamp: int, take: int
) -> None:
    _check(timestamp, _body(frame_type, cts, nalus, tail), take)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=80), take=st.integers(1, 40))
def test_fuzzed_raw_bytes(body: bytes, take: int) -> None:
    _check(500, bytes((0x17, 1)) + body, take)
    _check(500, body, take)


def test_chunks_before_a_configuration_give_what_the_body_gives() -> None:
    body = _body(1, 0, [b"\x65" * 100])
    assert FlvDemuxer().video_chunks(0, chunked(body, 16)) == FlvDemuxer().video(0, body) == []


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300), take=st.integers(1, 50))
def test_join_gives_the_body(body: bytes, take: int) -> None:
    chunks = chunked(body, take)
    assert chunks.join() == body
    assert type(chunks.join()) is bytes
    assert len(chunks) == len(body)


def test_a_frame_joins_its_chunks_once_and_lets_them_go() -> None:
    body = _body(1, 0, [b"\x06\x05", b"\x65" + bytes(50)])
    (frame,) = _configured().video_chunks(0, chunked(body, 16))
    held = frame.flv_chunks
    assert held is not None and held.join() == body
    assert frame.size == 53
    assert frame.flv_body == body  # joined now, and kept
    assert frame.flv_chunks is None
    assert frame.flv_body is frame.flv_body
    assert frame.nalus == (b"\x06\x05", b"\x65" + bytes(50))
    (other,) = _configured().video_chunks(0, chunked(body, 16))
    other.nalus = (b"\x41",)  # new content: the chunks no longer say what the frame holds
    assert other.flv_chunks is None and other.flv_body == b"" and other.size == 1
    (third,) = _configured().video_chunks(0, chunked(body, 16))
    third.flv_body = b"x"
    assert third.flv_chunks is None and third.flv_body == b"x"
