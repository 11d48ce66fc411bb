"""TSReader against ffmpeg-made transport streams: whole, chunked, damaged, fuzzed."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ts_helpers import CODEC_PAIRS, demux, frame_key, frames_by_track

from headwater.media.frames import Codec
from headwater.media.mpegts import TracksChanged
from headwater.media.mpegts import reader as reader_module
from headwater.testing import parse_framecrc, read_packets

CODEC_NAMES = {"h264": Codec.H264, "h265": Codec.H265, "aac": Codec.AAC, "mp3": Codec.MP3,
               "mp2": Codec.MP2, "ac3": Codec.AC3, "opus": Codec.OPUS}  # fmt: skip


@pytest.mark.parametrize(("video", "audio"), CODEC_PAIRS)
def test_frames_match_ffmpeg(ts_clip, tmp_path, video, audio) -> None:
    """Per track: frame count, dts, pts, keyframes and payload sizes equal ffmpeg's demux."""
    data = ts_clip(video, audio)
    path = tmp_path / "clip.ts"
    path.write_bytes(data)
    packets, _ = read_packets(path)
    reader, events = demux(data)
    assert isinstance(events[0], TracksChanged)
    tracks = reader.tracks
    assert [t.codec for t in tracks] == [CODEC_NAMES[c] for c in (video, audio) if c]
    by_track = frames_by_track(events)
    offsets = set()  # ffmpeg shifts every timestamp by one constant
    for index, track in enumerate(tracks):
        ours = by_track[track.id]
        theirs = [p for p in packets if p.stream == index]
        assert len(ours) == len(theirs), track.codec
        offsets |= {f.dts - p.dts for f, p in zip(ours, theirs, strict=True)}
        offsets |= {f.pts - p.pts for f, p in zip(ours, theirs, strict=True)}
        assert [f.keyframe for f in ours] == [p.keyframe for p in theirs]
        assert len(offsets) == 1, offsets
        if not track.is_video:
            extra = 7 if track.codec is Codec.AAC else 0
            assert [len(f.data) + extra for f in ours] == [p.size for p in theirs]
    assert reader.cc_errors == {} and reader.dropped_pes == 0 and reader.resyncs == 0


def test_video_track_config_from_sps(ts_clip) -> None:
    """The first keyframe replaces the PMT's track with one carrying SPS/PPS and the size."""
    reader, events = demux(ts_clip("h264", "aac"))
    video = reader.tracks[0]
    assert (video.width, video.height) == (160, 120)
    assert [n[0] & 0x1F for n in video.parameter_sets] == [7, 8]
    audio = reader.tracks[1]
    assert (audio.sample_rate, audio.channels, audio.config) == (48000, 2, b"\x11\x90")
    first = next(e for e in events if not isinstance(e, TracksChanged) and e.track.is_video)
    assert first.track is video and first.keyframe
    assert all(n[0] & 0x1F != 9 for n in first.nalus), "AUDs are kept out of frames"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=20))
def test_any_chunking_gives_identical_frames(ts_clip, chunks) -> None:
    """Packets split anywhere (one byte to thousands) give exactly the frames of a whole feed."""
    data = ts_clip("h264", "aac")
    _, whole = demux(data)
    _, cut = demux(data, chunks)
    assert [frame_key(e) for e in cut if not isinstance(e, TracksChanged)] == [
        frame_key(e) for e in whole if not isinstance(e, TracksChanged)
    ]


def test_one_byte_at_a_time(ts_clip) -> None:
    """The extreme chunking: every byte alone."""
    data = ts_clip(None, "aac")[: 188 * 300]
    _, whole = demux(data)
    _, cut = demux(data, [1])
    assert [frame_key(e) for e in cut if not isinstance(e, TracksChanged)] == [
        frame_key(e) for e in whole if not isinstance(e, TracksChanged)
    ]


def _damage(data: bytes, rng: random.Random, kind: str, count: int) -> bytes:
    packets = [data[i : i + 188] for i in range(0, len(data), 188)]
    for _ in range(count):
        i = rng.randrange(len(packets))
        if kind == "drop":
            packets[i] = b""
        elif kind == "sync":
            packets[i] = b"\x00" + packets[i][1:]
        elif kind == "garbage":
            packets[i] = packets[i] + bytes(
                rng.randrange(256) for _ in range(rng.randrange(1, 400))
            )
        elif kind == "truncate":
            packets[i] = packets[i][: rng.randrange(1, 188)]
    return b"".join(packets)


@pytest.mark.parametrize("kind", ["drop", "sync", "garbage", "truncate"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_damage_loses_frames_but_never_corrupts(ts_clip, kind, seed) -> None:
    """Every frame out of a damaged stream is a frame of the clean one, bit for bit.

    Damage is counted (continuity errors, resyncs, dropped PES) and only the PES it
    touched are lost.
    """
    data = ts_clip("h264", "aac")
    _, clean = demux(data)
    reference = {frame_key(e) for e in clean if not isinstance(e, TracksChanged)}
    total = len(reference)
    damaged = _damage(data, random.Random(seed), kind, 8)
    reader, events = demux(damaged, [random.Random(seed).randrange(1, 5000) for _ in range(9)])
    got = [frame_key(e) for e in events if not isinstance(e, TracksChanged)]
    assert set(got) <= reference
    assert total - 8 * 6 <= len(got) < total  # an AAC PES holds up to ~5 frames
    if kind == "drop":
        assert sum(reader.cc_errors.values()) >= 1
    else:
        assert reader.resyncs >= 1


def test_leading_garbage_and_mid_packet_start(ts_clip) -> None:
    """A stream joined in the middle of a packet syncs on the first real packet boundary."""
    data = ts_clip("h264", "aac")
    _, clean = demux(data)
    reader, events = demux(b"\x47garbage" * 50 + data[100:])
    got = {frame_key(e) for e in events if not isinstance(e, TracksChanged)}
    assert got <= {frame_key(e) for e in clean if not isinstance(e, TracksChanged)}
    assert len(got) >= len(clean) - 10
    assert reader.resyncs >= 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.integers(1, 500))
def test_fuzz_random_bytes_never_raise(data, chunk) -> None:
    """Random input (with sync bytes sprinkled in) never raises and never hangs."""
    data = b"".join(b"\x47" + data[i : i + 187] for i in range(0, len(data), 187))
    reader, events = demux(data, [chunk])
    assert reader.packets >= 0 and isinstance(events, list)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.integers(0, 30000), st.integers(0, 255)), min_size=1, max_size=40))
def test_fuzz_flipped_bytes_in_real_stream(ts_clip, flips) -> None:
    """Bytes flipped anywhere in a real stream: no exception, every counter stays sane."""
    data = bytearray(ts_clip("h264", "aac")[:30200])
    for pos, value in flips:
        data[pos] = value
    reader, events = demux(bytes(data), [1316])
    for e in events:
        if not isinstance(e, TracksChanged):
            assert e.track in reader.tracks or e.track.id in {t.id for t in reader.tracks}


def test_pmt_change_mid_stream(ts_clip) -> None:
    """Two clips back to back (H.264+AAC then H.265+MP3 on the same PIDs): tracks change."""
    first, second = ts_clip("h264", "aac"), ts_clip("h265", "mp3")
    _, events = demux(first + second, [4096])
    changes = [e for e in events if isinstance(e, TracksChanged)]
    codecs = [tuple(t.codec for t in c.tracks) for c in changes]
    assert (Codec.H264, Codec.AAC) in codecs
    assert codecs[-1] == (Codec.H265, Codec.MP3)
    frames = [e for e in events if not isinstance(e, TracksChanged)]
    assert frames[-1].track.codec in (Codec.H265, Codec.MP3)
    assert any(f.track.codec is Codec.H265 and f.keyframe for f in frames)


def test_framecrc_helper_reads_keyframes() -> None:
    """Guard for the comparison itself: framecrc lines without F= are keyframes."""
    packets, _ = parse_framecrc("0, 0, 0, 1, 10, 0x1\n0, 1, 1, 1, 10, 0x1, F=0x0\n")
    assert [p.keyframe for p in packets] == [True, False]


def test_repeated_pat_is_checked_once(ts_clip, monkeypatch) -> None:
    """Regression (issue 14): a PAT equal to the last good one skips its CRC and parse;
    a damaged repeat is still checked, counted and ignored."""
    data = bytearray(ts_clip("h264", "aac"))
    calls: list[bytes] = []
    real = reader_module.parse_pat
    monkeypatch.setattr(reader_module, "parse_pat", lambda s: calls.append(s) or real(s))
    pats = [o for o in range(0, len(data), 188) if data[o + 1] == 0x40 and data[o + 2] == 0]
    reader, clean = demux(bytes(data))
    assert len(pats) > 2 and len(calls) == 1 and reader.psi_errors == 0
    for o in pats[1:]:  # the last CRC byte of every repeat (pointer 0, 16-byte section)
        data[o + 5 + 15] ^= 0xFF
    calls.clear()
    reader, damaged = demux(bytes(data))
    assert len(calls) == len(pats) and reader.psi_errors == len(pats) - 1
    assert [frame_key(e) for e in damaged if not isinstance(e, TracksChanged)] == [
        frame_key(e) for e in clean if not isinstance(e, TracksChanged)
    ]
