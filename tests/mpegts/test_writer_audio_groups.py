"""AAC frames grouped into one PES (``audio_pes_bytes``, what the DVR records with).

Grouping deliberately changes the bytes (fewer, fuller audio PES, as ffmpeg's own muxer
writes them), so the oracle here is not the old writer's bytes but what a reader gets
back: every video frame exactly as without grouping, every audio frame's payload in order
with the timestamp a reader derives for it within ``AUDIO_GROUP_TOLERANCE`` of its own
(exactly its own where the input's timing is exact); our reader, ffmpeg's demuxer and
ffmpeg's decoder all agree with the ungrouped stream. Without the option the writer's
bytes are the old writer's (``test_writer_bulk.py``).
"""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ts_helpers import demux, frame_key, frames_by_track

from headwater.media.frames import Codec, Frame, Track
from headwater.media.mpegts import TracksChanged, TSWriter, packet_block
from headwater.media.mpegts.audio_groups import AUDIO_GROUP_TOLERANCE, AUDIO_PES_BYTES
from headwater.media.segmenter import Segmenter
from headwater.testing import ffmpeg_exe

pytestmark = pytest.mark.skipif(not packet_block.AVAILABLE, reason="numpy is not installed")

VIDEO = Track(256, Codec.H264, parameter_sets=(b"\x67\x42\x00\x1f", b"\x68\xce\x3c\x80"))
AAC = Track(257, Codec.AAC, sample_rate=48000, channels=2)
TICKS = 1024 * 90000 // 48000  # 1920: one AAC frame at 48 kHz


def write(frames: list[Frame], tracks, batch: int, **options) -> bytes:
    """``frames`` through ``write_batch`` in batches of ``batch`` (an arena every other)."""
    writer = TSWriter(tracks, **options)
    arena = packet_block.PacketArena(rows=8)
    out = []
    for n, i in enumerate(range(0, len(frames), batch)):
        chunk = frames[i : i + batch]
        out.append(bytes(writer.write_batch(chunk, (), arena if n % 2 else None)[0]))
        arena.reset()
    return b"".join(out)


def audio_pes(data: bytes, pid: int) -> list[int]:
    """Payload sizes (PES header included) of the PES on ``pid``, in order."""
    sizes: list[int] = []
    for pos in range(0, len(data), 188):
        packet = data[pos : pos + 188]
        if ((packet[1] & 0x1F) << 8 | packet[2]) != pid:
            continue
        start = 4 + (1 + packet[4] if packet[3] & 0x20 else 0)
        if packet[1] & 0x40:
            sizes.append(0)
        sizes[-1] += 188 - start
    return sizes


def assert_same_media(grouped: bytes, single: bytes, *, exact: bool = False) -> None:
    """Video frame for frame; audio payloads in order, timestamps within the tolerance."""
    got = frames_by_track([e for e in demux(grouped)[1] if not isinstance(e, TracksChanged)])
    want = frames_by_track([e for e in demux(single)[1] if not isinstance(e, TracksChanged)])
    assert got.keys() == want.keys()
    for tid, frames in want.items():
        if frames[0].nalus:
            assert [frame_key(f) for f in got[tid]] == [frame_key(f) for f in frames]
            continue
        assert [bytes(f.data) for f in got[tid]] == [bytes(f.data) for f in frames]
        drift = [abs(a.pts - b.pts) for a, b in zip(got[tid], frames, strict=True)]
        assert max(drift) <= (0 if exact else AUDIO_GROUP_TOLERANCE)
        assert all(f.pts == f.dts and f.keyframe for f in got[tid])


def av_frames(seconds: float, *, jitter: bool = True, sizes=(300, 371, 402)) -> list[Frame]:
    """30 fps video and 48 kHz AAC interleaved by time; with ``jitter`` the audio times are
    rounded to milliseconds, as RTMP carries them."""
    frames = []
    for k in range(int(seconds * 30)):
        t = 90000 + k * 3000
        nalus = (b"\x65" + bytes([k & 0xFF]) * (800 + 37 * k % 5000),)
        frames.append(Frame(VIDEO, t + 3000, t, k % 30 == 0, nalus=nalus))
    for k in range(int(seconds * 48000 / 1024)):
        t = 90000 + k * TICKS
        if jitter:
            t = (t // 90 + (1 if t % 90 >= 45 else 0)) * 90
        data = bytes([0x21, k & 0xFF]) * (sizes[k % len(sizes)] // 2)
        frames.append(Frame(AAC, t, t, True, data=data))
    frames.sort(key=lambda f: (f.dts, f.track.id))
    return frames


@pytest.mark.parametrize("batch", [4, 7, 30, 10**6])
@pytest.mark.parametrize("jitter", [False, True])
def test_grouped_stream_reads_back_as_the_single_one(batch, jitter) -> None:
    frames = av_frames(3, jitter=jitter)
    single = write(frames, [VIDEO, AAC], batch)
    grouped = write(frames, [VIDEO, AAC], batch, audio_pes_bytes=AUDIO_PES_BYTES)
    assert_same_media(grouped, single, exact=not jitter)
    sizes = audio_pes(grouped, 257)
    assert max(sizes) <= AUDIO_PES_BYTES + 14 + 183  # the payload, header, last stuffing
    assert len(sizes) < len(audio_pes(single, 257)) // (2 if batch >= 30 else 1)
    assert len(grouped) < len(single)


def test_ffmpeg_clip_and_ffmpeg_reading_it(ts_clip, tmp_path) -> None:
    """A real clip remuxed with and without grouping: ffmpeg demuxes the same audio
    packets (same hashes, timestamps within 1 ms) and video packets, and decodes the same
    samples and pictures."""
    reader, events = demux(ts_clip("h264", "aac"))
    frames = [e for e in events if not isinstance(e, TracksChanged)]
    single = write(frames, reader.tracks, 30)
    grouped = write(frames, reader.tracks, 30, audio_pes_bytes=AUDIO_PES_BYTES)
    assert len(grouped) < len(single)
    assert_same_media(grouped, single, exact=True)  # ffmpeg's own times are exact
    out = {}
    for name, data in (("single", single), ("grouped", grouped)):
        path = tmp_path / f"{name}.ts"
        path.write_bytes(data)
        packets = []
        for stream in ("0:v", "0:a"):
            cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", stream]
            cmd += ["-c", "copy", "-f", "framemd5", "-"]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
            rows = [ln.split(",") for ln in done.stdout.splitlines() if not ln.startswith("#")]
            packets.append([(int(r[2]), int(r[4]), r[5].strip()) for r in rows])  # pts size md5
        decoded = []
        for stream, fmt in (("0:a", "s16le"), ("0:v", "rawvideo")):
            cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", stream, "-f", fmt]
            cmd += ["-f", "md5", "-"]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
            decoded.append(done.stdout.strip())
        out[name] = packets, decoded
    (video, audio), decoded = out["grouped"]
    (video_1, audio_1), decoded_1 = out["single"]
    assert video == video_1
    assert decoded == decoded_1
    assert [a[1:] for a in audio] == [a[1:] for a in audio_1]
    assert len(audio) == sum(1 for f in frames if f.track.codec is Codec.AAC)
    # ffmpeg's time base here is 1/90000 too; its parser derives the times as we do
    assert max(abs(a[0] - b[0]) for a, b in zip(audio, audio_1, strict=True)) <= 1


def test_never_on_the_pcr_pid_nor_across_a_gap_a_new_track_or_mixed_timestamps() -> None:
    audio_only = [Frame(AAC, k * TICKS, k * TICKS, True, data=b"\x21" * 200) for k in range(40)]
    options = {"audio_pes_bytes": AUDIO_PES_BYTES}
    assert write(audio_only, [AAC], 40, **options) == write(audio_only, [AAC], 40)

    video = [Frame(VIDEO, 3000 * k, 3000 * k, k == 0, nalus=(b"\x65" * 900,)) for k in range(3)]
    other = Track(257, Codec.AAC, sample_rate=44100, channels=1)
    audio = [Frame(AAC, k * TICKS, k * TICKS, True, data=bytes([k]) * 100) for k in range(6)]
    audio[3] = Frame(AAC, 3 * TICKS + 91, 3 * TICKS + 91, True, data=b"\x03" * 100)  # late
    audio += [Frame(AAC, 6 * TICKS, 6 * TICKS - 1, True, data=b"\x06" * 100)]  # pts != dts
    audio += [Frame(AAC, 7 * TICKS, 7 * TICKS, True, data=b"\x07" * 100)]
    audio += [Frame(AAC, 8 * TICKS, 8 * TICKS, False, data=b"\x08" * 100)]  # not a key
    audio += [Frame(other, 9 * TICKS, 9 * TICKS, True, data=b"\x09" * 100)]  # new Track
    after = 9 * TICKS + 1024 * 90000 // 44100  # on time for the new rate
    audio += [Frame(other, after, after, True, data=b"\x0a" * 100)]
    frames = sorted(video + audio, key=lambda f: f.dts)
    grouped = write(frames, [VIDEO, AAC], 100, **options)
    single = write(frames, [VIDEO, AAC], 100)
    assert_same_media(grouped, single, exact=True)
    # PES: frames 0-2 | 3 (91 ticks late) | 4-5 (91 early for 3's time line) | 6 | 7 | 8 |
    # 9 | 10 (a Track object new in this batch is not grouped until the next one)
    assert len(audio_pes(grouped, 257)) == 8


def test_limit_is_kept() -> None:
    frames = av_frames(2, sizes=(1000, 1500, 20))
    grouped = write(frames, [VIDEO, AAC], 10**6, audio_pes_bytes=2000)
    assert max(audio_pes(grouped, 257)) <= 2000 + 14 + 183
    assert_same_media(grouped, write(frames, [VIDEO, AAC], 10**6))


def test_segments_never_share_a_pes_and_each_reads_alone() -> None:
    """Cut by the segmenter in batches: each segment demuxed on its own gives back its own
    frames (no PES reaches across a cut), and together they are the whole stream."""
    frames = av_frames(9, jitter=False)
    for batch in (7, 30, 10**6):
        cutter = Segmenter([VIDEO, AAC], target=90000, audio_pes_bytes=AUDIO_PES_BYTES)
        plain = Segmenter([VIDEO, AAC], target=90000)
        pieces, plain_pieces = [b""], [b""]
        for segmenter, out in ((cutter, pieces), (plain, plain_pieces)):
            for i in range(0, len(frames), batch):
                for step in segmenter.feed_many(frames[i : i + batch]):
                    if step.opened is not None:
                        out.append(b"")
                    out[-1] += bytes(step.data)
        assert len(pieces) == len(plain_pieces) > 5
        for got, want in zip(pieces[1:], plain_pieces[1:], strict=True):
            assert got[1:3] == b"\x40\x00"  # PAT first
            assert_same_media(got, want, exact=True)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 900), st.integers(-100, 100), st.booleans()),
        min_size=1,
        max_size=60,
    ),
    st.lists(st.integers(1, 40), min_size=1, max_size=4),
    st.integers(0, 2**33),
    st.sampled_from([AUDIO_PES_BYTES, 500, 8000]),
)
def test_hypothesis_timings_sizes_and_batches(script, batches, start, limit) -> None:
    """Audio of random sizes, each frame early or late by up to 100 ticks (or, when the
    flag says so, after a gap), between video frames: what a reader gets back is the
    ungrouped stream's media, within the tolerance."""
    frames = []
    t = start
    for k, (size, offset, gap) in enumerate(script):
        t += TICKS * (5 if gap else 1)
        frames.append(Frame(AAC, t + offset, t + offset, True, data=bytes([k & 0xFF]) * size))
        if k % 2:
            frames.append(Frame(VIDEO, t + 3000, t, k % 10 == 1, nalus=(b"\x65" * (k * 50),)))
    grouped = TSWriter([VIDEO, AAC], audio_pes_bytes=limit)
    single = TSWriter([VIDEO, AAC])
    out, ref = [], []
    pos = i = 0
    while pos < len(frames):
        chunk = frames[pos : pos + batches[i % len(batches)]]
        out.append(bytes(grouped.write_batch(chunk)[0]))
        ref.append(bytes(single.write_batch(chunk)[0]))
        pos += len(chunk)
        i += 1
    assert_same_media(b"".join(out), b"".join(ref))
