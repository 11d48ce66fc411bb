"""The TS writer's fast paths give exactly the bytes of the per-packet writer they replaced.

``legacy_writer.py`` is the writer as it was before the numpy packetizer (commit 9054a7b).
Every case feeds the same frames to it and to :class:`TSWriter` and compares the output
bit for bit: real ffmpeg clips of each codec pair (and ffmpeg's framemd5 of both outputs),
PES sizes on every side of each packet boundary and of the bulk threshold, PCR and
random-access combinations, new tracks and new Track objects mid-stream (PMT versions),
timestamps past the 33-bit wrap, the writer without numpy, runs longer than one block, and
hypothesis-made streams. Each case is also written through ``TSWriter.write_many`` (the
batch path) in batches of several sizes, which must give the same bytes again.
"""

from __future__ import annotations

import subprocess

import legacy_writer
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ts_helpers import CODEC_PAIRS, demux, frame_key, frames_by_track

from headwater.media.frames import Codec, Frame, Track
from headwater.media.mpegts import TracksChanged, TSWriter, packet_block
from headwater.media.mpegts import writer as writer_module
from headwater.media.mpegts.pes import TIMESTAMP_WRAP, build_pes_header
from headwater.testing import ffmpeg_exe

needs_numpy = pytest.mark.skipif(not packet_block.AVAILABLE, reason="numpy not installed")

# a PES header is 14 bytes (PTS) or 19 (PTS + DTS); video adds AUD (6 bytes) and start codes
ROOMS = (184, 182, 176)  # first-packet payload room: no AF, RAI only, PCR (+ RAI)
BOUNDARIES = sorted(
    {
        max(1, room + k * 184 + d)
        for room in ROOMS
        for k in (0, 1, 2, writer_module.BULK_PACKETS - 1, writer_module.BULK_PACKETS, 40)
        for d in range(-3, 4)
    }
)
"""PES sizes around the end of the first, second, ... packet and of the bulk threshold."""


BATCHES = (4, 7, 10**6)
"""Batch sizes :func:`both` also writes with ``write_many`` (one batch of every frame)."""


def both(
    frames: list[Frame], tracks: list[Track], batches=BATCHES, **options
) -> tuple[bytes, bytes]:
    """(new, old) TS for ``frames``, each written frame by frame; ``write_many`` in batches
    of each of ``batches`` frames (cycling when a tuple of sizes) gives the same bytes."""
    new = TSWriter(tracks, **options)
    old = legacy_writer.TSWriter(tracks, **options)
    ours = [new.write(f) for f in frames]
    theirs = [old.write(f) for f in frames]
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, f"frame {i} ({frames[i].track.codec}, {frames[i].size} bytes) differs"
    expected = b"".join(theirs)
    for sizes in batches:
        assert write_in_batches(frames, tracks, sizes, **options) == expected, f"batches {sizes}"
        if packet_block.AVAILABLE:  # laid out in a reused arena (small: it overflows, grows)
            arena = packet_block.PacketArena(rows=8)
            got = write_in_batches(frames, tracks, sizes, arena=arena, **options)
            assert got == expected, f"batches {sizes} in an arena"
    return b"".join(ours), expected


def write_in_batches(
    frames: list[Frame], tracks: list[Track], sizes, arena=None, **options
) -> bytes:
    """``frames`` through ``TSWriter.write_many``, cut into batches of ``sizes`` frames;
    with ``arena``, through ``write_batch`` into it, reset after every other batch (the
    bytes copied out first, as the DVR writes them before its next pass)."""
    writer = TSWriter(tracks, **options)
    sizes = sizes if isinstance(sizes, tuple) else (sizes,)
    chunks = []
    pos = i = 0
    while pos < len(frames):
        size = max(sizes[i % len(sizes)], 1)
        batch = frames[pos : pos + size]
        if arena is None:
            chunks.append(bytes(writer.write_many(batch)))
        else:
            chunks.append(bytes(writer.write_batch(batch, (), arena)[0]))
            if i % 2:
                arena.reset()
        pos += size
        i += 1
    return b"".join(chunks)


def remuxed_frames(data: bytes) -> tuple[list[Frame], list[Track]]:
    reader, events = demux(data)
    return [e for e in events if not isinstance(e, TracksChanged)], reader.tracks


@pytest.mark.parametrize(("video", "audio"), CODEC_PAIRS)
def test_clips_of_every_codec_pair_mux_to_the_same_bytes(ts_clip, video, audio) -> None:
    """Real ffmpeg clips, demuxed and muxed again: the same bytes, the same frames back."""
    frames, tracks = remuxed_frames(ts_clip(video, audio))
    new, _ = both(frames, tracks)
    again = frames_by_track(demux(new)[1])
    before = frames_by_track(frames)
    assert {t: [frame_key(f) for f in fs] for t, fs in before.items()} == {
        t: [frame_key(f) for f in fs] for t, fs in again.items()
    }


@pytest.mark.parametrize(
    "options",
    [{"psi_interval": 1}, {"psi_interval": 10**9}, {"pcr_delay": 63_000}, {"program_number": 7}],
)
def test_writer_options_keep_the_bytes(ts_clip, options) -> None:
    """PSI every frame or almost never, a PCR ahead of the DTS, another program number."""
    frames, tracks = remuxed_frames(ts_clip("h264", "aac"))
    both(frames, tracks, **options)


def test_ffmpeg_reads_identical_packets_from_both(ts_clip, tmp_path) -> None:
    """ffmpeg's framemd5 (every packet's hash, timestamps, flags) of both outputs agree."""
    frames, tracks = remuxed_frames(ts_clip("h264", "aac"))
    new, old = both(frames, tracks)
    hashes = []
    for name, data in (("new.ts", new), ("old.ts", old)):
        (tmp_path / name).write_bytes(data)
        cmd = [ffmpeg_exe(), "-v", "error", "-i", str(tmp_path / name)]
        cmd += ["-map", "0", "-c", "copy", "-f", "framemd5", "-"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
        hashes.append([ln for ln in done.stdout.splitlines() if ln and not ln.startswith("#")])
    assert hashes[0] == hashes[1]
    assert len(hashes[0]) == len(frames)


def _video(tid: int = 256, codec: Codec = Codec.H264, sets: tuple = ()) -> Track:
    return Track(tid, codec, parameter_sets=sets)


@pytest.mark.parametrize("size", BOUNDARIES)
@pytest.mark.parametrize("keyframe", [True, False])
def test_video_pes_sizes_around_packet_boundaries(size, keyframe) -> None:
    """Video (PCR PID): with and without random access, every cut of the last packet."""
    video = _video()
    frames = [
        Frame(video, 3000 * i + 6000, 3000 * i, keyframe or i == 0, nalus=(b"\x41" * size,))
        for i in range(3)
    ]
    both(frames, [video])


@pytest.mark.parametrize("size", BOUNDARIES)
def test_audio_pes_sizes_around_packet_boundaries(size) -> None:
    """Audio beside video (random access, no PCR) and audio alone (PCR on the audio PID)."""
    video = _video()
    aac = Track(257, Codec.AAC, sample_rate=48000, channels=2)
    opus = Track(258, Codec.OPUS, sample_rate=48000, channels=2)
    key = Frame(video, 0, 0, True, nalus=(b"\x65" * 500,))
    frames = [Frame(aac, 1920 * i, 1920 * i, True, data=b"\x21" * size) for i in range(3)]
    frames += [Frame(opus, 1800 * i, 1800 * i, True, data=b"\xfc" * size) for i in range(2)]
    both([key, *frames], [video, aac, opus])
    both(frames, [aac, opus])


def test_every_size_up_to_four_packets() -> None:
    """Each PES size from empty to four packets, audio beside video and alone, video."""
    video = _video()
    aac = Track(257, Codec.AAC, sample_rate=48000, channels=2)
    frames = [Frame(video, 0, 0, True, nalus=(b"\x65",))]
    for size in range(4 * 184):
        t = 1920 * size
        frames.append(Frame(aac, t, t, True, data=b"\x21" * size))
        frames.append(Frame(aac, t, t, False, data=b"\x21" * size))
        frames.append(Frame(video, t + 3000, t, False, nalus=(b"\x41" * (size + 1),)))
    both(frames, [video, aac])
    both([f for f in frames if f.track is aac], [aac])


@pytest.mark.parametrize("codec", [Codec.MP3, Codec.AC3, Codec.DATA, Codec.H265])
def test_other_codecs(codec) -> None:
    """Codecs that take the generic path (raw data) or H.265 parameter sets and AUD."""
    if codec is Codec.H265:
        sets = (b"\x40\x01\x0c", b"\x42\x01\x01", b"\x44\x01\xc0")
        track = _video(300, Codec.H265, sets)
        frames = [Frame(track, 0, 0, True, nalus=(b"\x26\x01" + b"\x11" * 9000,))]
        frames += [Frame(track, 3000, 3000, False, nalus=(b"\x02\x01" + b"\x11" * 700,))]
    else:
        track = Track(301, codec, sample_rate=48000, channels=2)
        frames = [
            Frame(track, 2160 * i, 2160 * i, True, data=b"\x0b" * (i * 97)) for i in range(1, 40)
        ]
    both(frames, [track])


def test_parameter_sets_and_aud_as_the_old_writer() -> None:
    """SPS/PPS from the track before a keyframe without them; an in-band AUD is dropped."""
    video = _video(sets=(b"\x67\x42\x00\x1f", b"\x68\xce\x3c\x80"))
    frames = [
        Frame(video, 0, 0, True, nalus=(b"\x09\xf0", b"\x65" + b"\x00" * 5000)),
        Frame(video, 3000, 3000, True, nalus=(b"\x67\x42", b"\x68\xce", b"\x65" + b"\x01" * 9)),
        Frame(video, 6000, 6000, False, nalus=(b"\x41\x9a", b"\x01" * 7000)),
    ]
    both(frames, [video])


def test_new_tracks_and_track_objects_mid_stream() -> None:
    """A track added later and a new Track object (PMT version bump, cached PSI dropped)."""
    video = _video()
    aac = Track(257, Codec.AAC, sample_rate=48000, channels=2)
    aac_mono = Track(257, Codec.AAC, sample_rate=48000, channels=1)
    same_again = Track(257, Codec.AAC, sample_rate=48000, channels=1)
    frames = []
    for i in range(60):
        frames.append(Frame(video, 3000 * i, 3000 * i, i % 15 == 0, nalus=(b"\x65" * 3000,)))
        if i >= 10:
            track = aac if i < 30 else aac_mono if i < 45 else same_again
            frames.append(Frame(track, 3000 * i, 3000 * i, True, data=b"\x21" * (200 + i)))
    both(frames, [video])


def test_timestamps_across_the_wrap() -> None:
    """PTS/DTS and PCR modulo 2**33 are written the same way."""
    video = _video()
    start = TIMESTAMP_WRAP - 5 * 3000
    frames = [
        Frame(video, start + 3000 * i + 3000, start + 3000 * i, i == 0, nalus=(b"\x41" * 4000,))
        for i in range(10)
    ]
    both(frames, [video], pcr_delay=9000)


def test_without_numpy_the_loop_writes_the_same(ts_clip, monkeypatch) -> None:
    """The per-packet loop alone (where numpy is absent) gives the same bytes."""
    monkeypatch.setattr(packet_block, "AVAILABLE", False)
    frames, tracks = remuxed_frames(ts_clip("h264", "aac"))
    writer = TSWriter(tracks)
    assert all(o.block is None for o in writer._out.values())
    new = b"".join(writer.write(f) for f in frames)
    old = legacy_writer.TSWriter(tracks)
    assert new == b"".join(old.write(f) for f in frames)
    assert write_in_batches(frames, tracks, 20) == new  # write_many: frame by frame too


@needs_numpy
@pytest.mark.parametrize("count", [1, 2, 15, 16, 17, 100, 257])
@pytest.mark.parametrize("cc", [0, 7, 15])
def test_packet_block_equals_the_loop(count, cc) -> None:
    """PacketBlock's packets are header + 184 bytes each, counters running from ``cc``."""
    pid = 0x1ABC
    payload = bytes(range(256)) * (count * 184 // 256 + 1)
    payload = payload[: count * 184]
    block = bytes(packet_block.PacketBlock(pid).packets(memoryview(payload), cc, count))
    expected = b"".join(
        bytes((0x47, pid >> 8, pid & 0xFF, 0x10 | ((cc + i) & 15)))
        + payload[i * 184 : i * 184 + 184]
        for i in range(count)
    )
    assert block == expected


@needs_numpy
def test_runs_longer_than_one_block(monkeypatch) -> None:
    """A PES longer than MAX_RUN packets is laid out in several blocks, seamlessly."""
    monkeypatch.setattr(packet_block, "MAX_RUN", 20)
    monkeypatch.setattr(packet_block, "_COUNTERS", None)
    video = _video()
    frames = [Frame(video, 0, 0, True, nalus=(b"\x65" * 50_000,))]
    frames += [Frame(video, 3000, 3000, False, nalus=(b"\x41" * 3700,))]
    both(frames, [video])


_SIZES = st.one_of(st.integers(0, 400), st.sampled_from(BOUNDARIES), st.integers(400, 40_000))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["video", "aac", "opus", "mp3", "new-aac"]), _SIZES, st.booleans()
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, TIMESTAMP_WRAP + 10**6),
    st.sampled_from([9000, 1, 10**6]),
    st.lists(st.integers(1, 12), min_size=1, max_size=5).map(tuple),
)
def test_hypothesis_streams_mux_to_the_same_bytes(script, start, psi_interval, cuts) -> None:
    """Random mixes of tracks, sizes, keyframes and track changes: byte-equal output, also
    through ``write_many`` in batches of hypothesis-drawn sizes."""
    video = _video(sets=(b"\x67\x42\x00\x1f", b"\x68\xce\x3c\x80"))
    tracks = {
        "video": video,
        "aac": Track(257, Codec.AAC, sample_rate=44100, channels=2),
        "opus": Track(258, Codec.OPUS, sample_rate=48000, channels=2),
        "mp3": Track(259, Codec.MP3, sample_rate=44100, channels=2),
    }
    frames = []
    dts = start
    for kind, size, key in script:
        if kind == "new-aac":  # a new Track object: same id, maybe another config
            tracks["aac"] = Track(257, Codec.AAC, sample_rate=48000, channels=1 + size % 2)
            kind = "aac"
        track = tracks[kind]
        if kind == "video":
            frames.append(Frame(track, dts + 3000, dts, key, nalus=(b"\x65" + b"\x5a" * size,)))
        else:
            frames.append(Frame(track, dts, dts, key, data=b"\x21" * size))
        dts += 1500
    both(frames, [video], batches=(cuts, 10**6), psi_interval=psi_interval)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([0xE0, 0xC0, 0xBD, 0xFC]),
    st.integers(-TIMESTAMP_WRAP, 3 * TIMESTAMP_WRAP),
    st.one_of(st.none(), st.integers(-9000, 9000), st.sampled_from([0, TIMESTAMP_WRAP])),
    st.one_of(st.integers(0, 70_000), st.sampled_from([65535 - 8, 65535 - 7, 65535 - 13])),
    st.booleans(),
)
def test_pes_header_equals_the_old_builder(sid, pts, dts_offset, size, sized) -> None:
    """The PES header built as one integer is the old builder's, byte for byte."""
    dts = None if dts_offset is None else pts - dts_offset
    old = legacy_writer.build_pes_header(sid, pts, dts, size, sized=sized)
    assert build_pes_header(sid, pts, dts, size, sized=sized) == old


@pytest.mark.skipif(not packet_block.AVAILABLE, reason="numpy is not installed")
def test_packet_arena_reuses_its_block_and_fits_it_to_what_a_round_used() -> None:
    slack = packet_block.MIN_ROWS
    arena = packet_block.PacketArena(rows=10)
    first = arena.rows(6)
    assert first.shape == (6, 188) and first.base is not None  # a view of the block
    spill = arena.rows(6)  # does not fit: an array of its own
    assert spill.shape == (6, 188) and spill.base is None
    arena.reset()
    assert arena.capacity == 12 + 3 + slack  # the 12 rows asked for, a quarter more
    again = arena.rows(12)
    assert again.base is not None
    arena.reset()
    assert arena.capacity == 12 + 3 + slack  # steady: the same block
    burst = packet_block.PacketArena(rows=1000)
    burst.rows(10)
    burst.reset()
    assert burst.capacity == 10 + 2 + slack  # a round used far less: the memory goes


@pytest.mark.skipif(not packet_block.AVAILABLE, reason="numpy is not installed")
def test_packet_arena_join_reuses_its_memory_and_survives_a_held_result() -> None:
    arena = packet_block.PacketArena(rows=4)
    first = arena.join([b"ab", memoryview(b"cde"), b""])
    assert bytes(first) == b"abcde"
    first.release()
    assert bytes(arena.join([b"x" * 3])) == b"xxx"  # the same memory, the result let go of
    held = arena.join([b"12", b"34"])
    again = arena.join([b"5678", b"9"])  # ``held`` still exported: a fresh buffer
    assert bytes(held) == b"1234" and bytes(again) == b"56789"
    again.release()
    burst = arena.join([b"z" * (packet_block.SCRATCH_SLACK + 10)])
    assert len(burst) == packet_block.SCRATCH_SLACK + 10
    burst.release()
    small = arena.join([b"after"])  # the burst's buffer is let go of (its copy returned)
    assert bytes(small) == b"after"
    small.release()
    assert bytes(arena.join([b"new"])) == b"new"  # a small buffer again
