"""TSWriter: demux → mux → (our reader and ffmpeg) gives back the same packets."""

from __future__ import annotations

import pytest
from ts_helpers import CODEC_PAIRS, demux, frame_key, frames_by_track

from headwater.media.frames import Codec, Frame, Track
from headwater.media.mpegts import TracksChanged, TSWriter
from headwater.media.mpegts.packet import parse_adaptation_field
from headwater.media.mpegts.pes import TIMESTAMP_WRAP
from headwater.testing import read_packets


def remux(data: bytes) -> tuple[list, bytes]:
    """Demux ``data`` with TSReader, mux every frame with TSWriter; return events and TS."""
    reader, events = demux(data)
    writer = TSWriter(reader.tracks)
    out = b"".join(writer.write(e) for e in events if not isinstance(e, TracksChanged))
    return events, out


def packets_of(ts: bytes) -> list[bytes]:
    assert len(ts) % 188 == 0
    packets = [ts[i : i + 188] for i in range(0, len(ts), 188)]
    assert all(p[0] == 0x47 for p in packets)
    return packets


@pytest.mark.parametrize(("video", "audio"), CODEC_PAIRS)
def test_remux_reads_back_identically(ts_clip, tmp_path, video, audio) -> None:
    """Our reader gets the same frames back; ffmpeg sees the same packets as in the source."""
    source = ts_clip(video, audio)
    events, out = remux(source)
    packets_of(out)
    _, again = demux(out)
    before, after = frames_by_track(events), frames_by_track(again)
    assert before.keys() == after.keys()
    for tid in before:
        assert [frame_key(f) for f in before[tid]] == [frame_key(f) for f in after[tid]]
    (tmp_path / "a.ts").write_bytes(source)
    (tmp_path / "b.ts").write_bytes(out)
    theirs, head_a = read_packets(tmp_path / "a.ts")
    ours, head_b = read_packets(tmp_path / "b.ts")
    assert len(ours) == len(theirs)
    for stream in {p.stream for p in theirs}:
        a = [p for p in theirs if p.stream == stream]
        b = [p for p in ours if p.stream == stream]
        assert [(p.dts, p.pts, p.keyframe) for p in a] == [(p.dts, p.pts, p.keyframe) for p in b]
        assert head_a[f"codec_id {stream}"] == head_b[f"codec_id {stream}"]
        if head_a[f"media_type {stream}"] == "audio":
            assert [p.size for p in a] == [p.size for p in b]
            assert [p.crc for p in a] == [p.crc for p in b]
        else:
            assert head_a[f"dimensions {stream}"] == head_b[f"dimensions {stream}"]


def test_continuity_psi_pcr_and_random_access(ts_clip) -> None:
    """Counters run without gaps per PID; PAT precedes each keyframe; RAI and PCR are set."""
    events, out = remux(ts_clip("h264", "aac"))
    frames = [e for e in events if not isinstance(e, TracksChanged)]
    packets = packets_of(out)
    last_cc: dict[int, int] = {}
    keys = pcrs = rai = 0
    last_pat = -1
    for i, p in enumerate(packets):
        pid = ((p[1] & 0x1F) << 8) | p[2]
        cc = p[3] & 15
        if pid in last_cc:
            assert cc == (last_cc[pid] + 1) & 15, f"CC gap on PID {pid}"
        last_cc[pid] = cc
        if pid == 0:
            last_pat = i
        if p[3] & 0x20:
            af = parse_adaptation_field(p)
            rai += af.random_access
            pcrs += af.pcr is not None
            if af.random_access and pid == 256:
                keys += 1
                assert i - last_pat <= 2, "PAT/PMT must come right before a keyframe"
    video_keys = sum(f.keyframe for f in frames if f.track.is_video)
    assert keys == video_keys
    assert pcrs == sum(1 for f in frames if f.track.is_video)
    assert rai == video_keys + sum(1 for f in frames if f.track.is_audio)


def test_psi_repeats_every_100ms_on_audio_only() -> None:
    """Without video the PAT still repeats at the PSI interval (audio carries the PCR)."""
    track = Track(257, Codec.AAC, sample_rate=48000, channels=2)
    writer = TSWriter([track])
    out = b"".join(
        writer.write(Frame(track, i * 1920, i * 1920, True, data=b"\x21" * 50)) for i in range(100)
    )
    pats = sum(1 for p in packets_of(out) if p[1] & 0x1F == 0 and p[2] == 0)
    assert 20 <= pats <= 22  # 2.13 s, PSI once 100 ms have passed: every 5th frame


def test_timestamps_unwrap_across_33_bits() -> None:
    """PTS written modulo 2**33 come back on one rising time line."""
    track = Track(300, Codec.AAC, sample_rate=48000, channels=2)
    writer = TSWriter([track])
    start = TIMESTAMP_WRAP - 10 * 1920
    frames = [
        Frame(track, start + i * 1920, start + i * 1920, True, data=bytes([i]) * 20)
        for i in range(20)
    ]
    _, events = demux(b"".join(writer.write(f) for f in frames))
    got = [e.pts for e in events if not isinstance(e, TracksChanged)]
    assert got == [f.pts for f in frames]
    assert got[-1] > TIMESTAMP_WRAP


def test_parameter_sets_inserted_before_idr(ts_clip, tmp_path) -> None:
    """Frames without in-band SPS/PPS (as from RTMP) get them from the track at keyframes."""
    reader, events = demux(ts_clip("h264", None))
    video = reader.tracks[0]
    stripped = [
        Frame(
            video,
            e.pts,
            e.dts,
            e.keyframe,
            nalus=tuple(n for n in e.nalus if n[0] & 0x1F not in (7, 8)),
        )
        for e in events
        if not isinstance(e, TracksChanged)
    ]
    writer = TSWriter([video])
    out = b"".join(writer.write(f) for f in stripped)
    _, back = demux(out)
    keys = [e for e in back if not isinstance(e, TracksChanged) and e.keyframe]
    assert keys and all([n[0] & 0x1F for n in k.nalus][:2] == [7, 8] for k in keys)
    (tmp_path / "x.ts").write_bytes(out)
    packets, head = read_packets(tmp_path / "x.ts")
    assert head["dimensions 0"] == "160x120" and len(packets) == len(stripped)


def test_new_track_bumps_pmt() -> None:
    """A frame of a track not yet known adds it to the PMT (new version) before its data."""
    video = Track(256, Codec.H264)
    audio = Track(257, Codec.AAC, sample_rate=44100, channels=1)
    writer = TSWriter([video])
    first = writer.write(Frame(video, 0, 0, True, nalus=(b"\x65\x88",)))
    second = writer.write(Frame(audio, 0, 0, True, data=b"\x01\x02"))
    _, events = demux(first + second)
    changes = [e for e in events if isinstance(e, TracksChanged)]
    assert [t.codec for t in changes[-1].tracks] == [Codec.H264, Codec.AAC]
    assert writer.pids == {256: 256, 257: 257}
