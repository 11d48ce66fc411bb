"""FLV tags ↔ frames (headwater.media.flv): real ffmpeg files through reader, demuxer, muxer and
writer, compared packet by packet (with CRCs) by ffmpeg itself; plus table cases and fuzzing."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.media.aac import AudioSpecificConfig
from headwater.media.flv import (
    FlvDemuxer,
    FlvHeader,
    FlvMuxer,
    FlvReader,
    FlvTag,
    encode_header,
    encode_tag,
)
from headwater.media.flv import audio as flv_audio
from headwater.media.flv import tags as flv_tags
from headwater.media.flv import video as flv_video
from headwater.media.flv.demuxer import TimestampUnwrapper
from headwater.media.flv.video import PacketKind
from headwater.media.frames import Codec, Frame, Track

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _make_flv(path: Path, vcodec: str, acodec: str, seconds: float = 1.5) -> bytes:
    cmd = [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
           "-c:v", vcodec, "-g", "25", "-bf", "2", "-pix_fmt", "yuv420p", "-c:a", acodec,
           "-f", "flv", "-y", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return path.read_bytes()


def _framecrc(path: Path) -> list[str]:
    cmd = [FFMPEG, "-v", "error", "-i", str(path), "-c", "copy", "-f", "framecrc", "-"]
    out = subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout.decode()
    return [line for line in out.splitlines() if not line.startswith("#")]


def _remux(data: bytes, step: int) -> tuple[bytes, list[Frame], FlvDemuxer]:
    reader = FlvReader()
    demux = FlvDemuxer()
    items = []
    for i in range(0, len(data), step):
        items.extend(reader.feed(data[i : i + step]))
    assert isinstance(items[0], FlvHeader)
    frames: list[Frame] = []
    for tag in items[1:]:
        frames.extend(demux.tag(tag))
    mux = FlvMuxer()
    out = [encode_header(True, True)]
    out.append(encode_tag(flv_tags.SCRIPT, 0, mux.metadata(demux.metadata).data))
    for frame in frames:
        for tag in mux.frame(frame):
            out.append(encode_tag(tag.kind, tag.timestamp, tag.data))
    return b"".join(out), frames, demux


@pytest.mark.parametrize(
    ("vcodec", "acodec", "codecs"),
    [("libx264", "aac", (Codec.H264, Codec.AAC)), ("libx265", "libopus", (Codec.H265, Codec.OPUS))],
)
def test_ffmpeg_file_survives_demux_and_mux(tmp_path, vcodec, acodec, codecs):
    src = tmp_path / "in.flv"
    data = _make_flv(src, vcodec, acodec)
    remuxed, frames, demux = _remux(data, 4093)
    dst = tmp_path / "out.flv"
    dst.write_bytes(remuxed)
    original = _framecrc(src)
    assert len(original) > 50
    assert _framecrc(dst) == original  # same packets: stream, dts, pts, size, CRC, flags
    video = demux.tracks[1]
    assert (video.codec, demux.tracks[2].codec) == codecs
    assert (video.width, video.height) == (320, 240)
    assert demux.tracks[2].sample_rate == 48000
    assert demux.metadata["width"] == 320
    assert any(f.pts != f.dts for f in frames)  # B-frames: composition offsets carried
    assert all(f.dts % 90 == 0 for f in frames)


def test_reader_byte_by_byte_equals_whole(tmp_path):
    data = _make_flv(tmp_path / "a.flv", "libx264", "aac", 0.3)
    whole = FlvReader().feed(data)
    reader = FlvReader()
    pieces = []
    for i in range(len(data)):
        pieces.extend(reader.feed(data[i : i + 1]))
    assert pieces == whole
    assert FlvReader().feed(data + b"\x09\x00") == whole  # a trailing partial tag waits


def test_reader_refuses_bad_input():
    with pytest.raises(flv_tags.FlvError):
        FlvReader().feed(b"NOTFLV\x00\x00\x00\x09\x00\x00\x00\x00")
    with pytest.raises(flv_tags.FlvError, match="limit"):
        FlvReader(max_tag_size=100).feed(encode_header() + encode_tag(9, 0, b"x" * 101))


def test_tag_timestamp_uses_extended_byte():
    tag = encode_tag(flv_tags.VIDEO, 0x12345678, b"\x17\x02\x00\x00\x00")
    assert tag[4:8] == b"\x34\x56\x78\x12"
    [_, parsed] = FlvReader().feed(encode_header() + tag)
    assert parsed == FlvTag(flv_tags.VIDEO, 0x12345678, b"\x17\x02\x00\x00\x00")


def test_timestamp_unwrap_past_32_bits_and_negative_start():
    clock = TimestampUnwrapper()
    assert [clock(t) for t in (0xFFFFFFF0, 0xFFFFFFFF, 5, 10)] == [-16, -1, 5, 10]
    clock = TimestampUnwrapper()
    seq = [0x7FFFFFFF, 0xFFFFFFF0, 3, 0xFFFFFFFE, 20]
    assert [clock(t) for t in seq] == [
        0x7FFFFFFF,
        0xFFFFFFF0,
        1 << 32 | 3,
        0xFFFFFFFE,
        1 << 32 | 20,
    ]


VIDEO_BODIES = [
    # body, codec, kind, keyframe, cts, payload, track
    (b"\x17\x01\xff\xff\xfe\x00\x00\x00\x01\x65", Codec.H264, PacketKind.FRAME, True, -2,
     b"\x00\x00\x00\x01\x65", 0),
    (b"\x90hvc1\x01\x02", Codec.H265, PacketKind.CONFIG, False, 0, b"\x01\x02", 0),
    (b"\xa1hvc1\x00\x00\x28\x00", Codec.H265, PacketKind.FRAME, False, 40, b"\x00", 0),
    (b"\x93av01\x12\x00", Codec.AV1, PacketKind.FRAME, True, 0, b"\x12\x00", 0),
    (b"\x96\x03vp09\x02\xab", Codec.VP9, PacketKind.FRAME, True, 0, b"\xab", 2),
    (b"\x97\x00\xff\x01hvc1\x00\x00\x07", Codec.H265, PacketKind.FRAME, True, 7, b"", 0),
    (b"\x22\x00", None, PacketKind.FRAME, False, 0, b"\x00", 0),
]  # fmt: skip


@pytest.mark.parametrize(("body", "codec", "kind", "key", "cts", "payload", "track"), VIDEO_BODIES)
def test_video_bodies(body, codec, kind, key, cts, payload, track):
    [packet] = flv_video.parse_video(body)
    assert (packet.codec, packet.kind, packet.keyframe) == (codec, kind, key)
    assert (packet.cts, bytes(packet.payload), packet.track) == (cts, payload, track)
    for cut in range(1, len(body)):
        with contextlib.suppress(flv_tags.FlvError):
            flv_video.parse_video(body[:cut])


def test_video_many_tracks_many_codecs():
    body = (
        b"\x96\x23"  # ManyTracksManyCodecs, CodedFramesX
        + b"av01\x00\x00\x00\x02\xaa\xbb"
        + b"vp09\x01\x00\x00\x01\xcc"
    )
    a, b = flv_video.parse_video(body)
    assert (a.codec, a.track, a.payload, b.codec, b.track, b.payload) == (
        Codec.AV1, 0, b"\xaa\xbb", Codec.VP9, 1, b"\xcc"
    )  # fmt: skip


AUDIO_BODIES = [
    (b"\xaf\x00\x11\x90", Codec.AAC, PacketKind.CONFIG, b"\x11\x90", 0),
    (b"\xaf\x01\x21", Codec.AAC, PacketKind.FRAME, b"\x21", 0),
    (b"\x2f\xff\xfb", Codec.MP3, PacketKind.FRAME, b"\xff\xfb", 0),
    (b"\x90OpusOpusHead", Codec.OPUS, PacketKind.CONFIG, b"OpusHead", 0),
    (b"\x95\x01ac-3\x03\x0b\x77", Codec.AC3, PacketKind.FRAME, b"\x0b\x77", 3),
    (b"\x60\x00", None, PacketKind.FRAME, b"\x00", 0),
]


@pytest.mark.parametrize(("body", "codec", "kind", "payload", "track"), AUDIO_BODIES)
def test_audio_bodies(body, codec, kind, payload, track):
    [packet] = flv_audio.parse_audio(body)
    assert (packet.codec, packet.kind, bytes(packet.payload), packet.track) == (
        codec, kind, payload, track
    )  # fmt: skip


@pytest.mark.parametrize("codec", [Codec.H264, Codec.H265, Codec.AV1, Codec.VP9])
@pytest.mark.parametrize("track", [0, 3])
def test_video_encode_parse_round_trip(codec, track):
    nal = codec in (Codec.H264, Codec.H265)
    body = flv_video.encode_video_frame(
        codec, True, 33, nalus=(b"\x65\x01", b"\x06") if nal else (), data=b"\x12\x00", track=track
    )
    [packet] = flv_video.parse_video(body)
    assert (packet.codec, packet.keyframe, packet.track) == (codec, True, track)
    assert packet.cts == (33 if nal else 0)
    config = flv_video.encode_video_config(codec, b"REC", track)
    [packet] = flv_video.parse_video(config)
    assert (packet.kind, packet.payload, packet.track) == (PacketKind.CONFIG, b"REC", track)


def test_muxer_multitrack_and_drop():
    mux = FlvMuxer(multitrack=True)
    a = Track(10, Codec.OPUS, channels=2)
    b = Track(11, Codec.OPUS, channels=1)
    tags_a = mux.frame(Frame(a, 900, 900, True, data=b"A"))
    tags_b = mux.frame(Frame(b, 900, 900, True, data=b"B"))
    assert len(tags_a) == len(tags_b) == 2  # sequence header (OpusHead), then the frame
    demux = FlvDemuxer()
    frames = [f for t in tags_a + tags_b for f in demux.tag(t)]
    assert [(f.track.id, f.data, f.dts) for f in frames] == [(2, b"A", 900), (4, b"B", 900)]
    assert demux.tracks[4].channels == 1
    single = FlvMuxer()
    single.frame(Frame(a, 0, 0, True, data=b"A"))
    assert single.frame(Frame(b, 0, 0, True, data=b"B")) == []
    assert single.frame(Frame(Track(3, Codec.H264), 0, 0, True, nalus=(b"\x41",))) == []
    assert single.dropped == 2


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40), st.booleans())
def test_fuzz_bodies_only_protocol_errors(body, is_video):
    demux = FlvDemuxer()
    try:
        if is_video:
            demux.video(0, body)
        else:
            demux.audio(0, body)
    except flv_tags.FlvError:
        pass
    except Exception as exc:  # every refusal must be a ProtocolError
        from headwater.errors import ProtocolError

        assert isinstance(exc, ProtocolError), repr(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_reader(data):
    with contextlib.suppress(flv_tags.FlvError):
        FlvReader().feed(encode_header() + data)


def test_empty_aac_sequence_header_is_skipped_regression():
    """ffmpeg remuxing ADTS (TS) audio to FLV sends ``af 00`` with no config first."""
    demuxer = FlvDemuxer()
    asc = AudioSpecificConfig.build(2, 48000, 2).to_bytes()
    assert demuxer.audio(0, b"\xaf\x00") == []
    assert demuxer.ignored == 1
    assert demuxer.audio(0, b"\xaf\x00" + asc) == []
    (frame,) = demuxer.audio(21, b"\xaf\x01" + b"\x21\x10\x04")
    assert frame.track.config == asc
    assert (frame.track.sample_rate, frame.track.channels) == (48000, 2)
    assert (frame.dts, frame.data) == (21 * 90, b"\x21\x10\x04")


def test_empty_avc_sequence_header_is_skipped_regression():
    demuxer = FlvDemuxer()
    assert demuxer.video(0, b"\x17\x00\x00\x00\x00") == []
    assert demuxer.ignored == 1
