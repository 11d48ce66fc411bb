"""The keyframe-aligned segment cutter: cut points from tables, bytes that read back whole."""

from __future__ import annotations

import pytest

from headwater.media.frames import CLOCK_RATE, Codec, Frame, Track
from headwater.media.mpegts import TracksChanged, TSReader
from headwater.media.segmenter import Segmenter, SegmentInfo

S = CLOCK_RATE  # one second in ticks
VIDEO = Track(1, Codec.H264, parameter_sets=(b"\x67\x42\x00\x1e\xab", b"\x68\xce\x3c\x80"))
AUDIO = Track(2, Codec.AAC, config=b"\x11\x90", sample_rate=48000, channels=2)


def video(dts: int, key: bool = False) -> Frame:
    nal = b"\x65" if key else b"\x41"
    return Frame(VIDEO, dts, dts, key, nalus=(nal + bytes(range(40)),))


def audio(dts: int) -> Frame:
    return Frame(AUDIO, dts, dts, True, data=b"\x21" + bytes(30))


def av_stream(seconds: float, gop: float, fps: int = 25, start: int = 0) -> list[Frame]:
    """Video at ``fps`` with a keyframe every ``gop`` seconds, audio every 1024 samples."""
    frames: list[tuple[int, int, Frame]] = []
    step = S // fps
    per_gop = round(gop * fps)
    for i in range(int(seconds * fps)):
        frames.append((start + i * step, 1, video(start + i * step, key=i % per_gop == 0)))
    a_step = 1024 * S // 48000
    for i in range(int(seconds * S / a_step)):
        frames.append((start + i * a_step, 0, audio(start + i * a_step)))
    return [f for _, _, f in sorted(frames, key=lambda t: (t[0], t[1]))]


def run(seg: Segmenter, frames: list[Frame]) -> tuple[list[SegmentInfo], list[bytes]]:
    """Feed everything, close; return the segments and each one's bytes."""
    segments: list[SegmentInfo] = []
    chunks: list[bytearray] = []
    for frame in frames:
        step = seg.feed(frame)
        if step.opened is not None:
            segments.append(step.opened)
            chunks.append(bytearray())
        if step.data:
            chunks[-1] += step.data
    seg.close()
    return segments, [bytes(c) for c in chunks]


# (what, frames, target seconds, expected segment starts in seconds, expected durations)
CASES = [
    ("gop 1 s, target 4 s", av_stream(10, 1), 4, [0, 4, 8], [4, 4, 2]),
    ("gop 3 s never split: cut at 6 s", av_stream(10, 3), 4, [0, 6], [6, 4]),
    ("gop longer than the clip: one segment", av_stream(5, 10), 2, [0], [5]),
    ("target 1 s, gop 0.5 s", av_stream(3, 0.5, fps=30), 1, [0, 1, 2], [1, 1, 1]),
    ("starts mid-gop: wait for the key", av_stream(6, 2)[30:], 2, [2, 4], [2, 2]),
]


@pytest.mark.parametrize(
    ("frames", "target", "starts", "durations"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_cut_points(frames, target, starts, durations) -> None:
    """Segments open at keyframes at or past the target, with exact durations."""
    segments, chunks = run(Segmenter(target=target * S), frames)
    assert [s.start / S for s in segments] == starts
    assert [round(s.duration / S, 1) for s in segments] == durations
    assert [s.sequence for s in segments] == list(range(len(segments)))
    for segment, data in zip(segments, chunks, strict=True):
        assert segment.size == len(data) and len(data) % 188 == 0
        assert segment.keyframe_offsets[0] == 0 or data[: segment.keyframe_offsets[0]]
        assert all(data[o] == 0x47 for o in segment.keyframe_offsets)


def test_each_segment_reads_alone_from_a_keyframe() -> None:
    """Every segment starts with PAT/PMT and its first frame is a video keyframe."""
    _, chunks = run(Segmenter(target=2 * S), av_stream(8, 1))
    assert len(chunks) == 4
    for data in chunks:
        assert data[1:3] == b"\x40\x00"  # PID 0 with payload_unit_start: PAT first
        events = TSReader().feed(data)
        frames = [e for e in events if not isinstance(e, TracksChanged)]
        first_video = next(f for f in frames if f.track.codec is Codec.H264)
        assert first_video.keyframe
        assert isinstance(events[0], TracksChanged)


def test_no_frame_is_lost_or_duplicated() -> None:
    """Concatenated segments hold every frame from the first keyframe on, once, in order."""
    frames = av_stream(9, 1.5)
    segments, chunks = run(Segmenter(target=4 * S), frames)
    reader = TSReader()
    events = reader.feed(b"".join(chunks)) + reader.flush()
    frames = frames[1:]  # the audio frame before the first keyframe is skipped
    for codec in (Codec.H264, Codec.AAC):
        got = [f.dts for f in events if not isinstance(f, TracksChanged) and f.track.codec is codec]
        assert got == [f.dts for f in frames if f.track.codec is codec]
    assert sum(s.frames for s in segments) == len(frames)


def test_frames_before_the_first_keyframe_are_skipped_and_counted() -> None:
    frames = [audio(0), video(0), audio(1920), video(3600), video(7200, key=True), audio(7680)]
    seg = Segmenter(target=4 * S)
    segments, _ = run(seg, frames)
    assert [s.start for s in segments] == [7200]
    assert seg.skipped == 4


def test_audio_only_waits_for_video_then_cuts_on_any_frame() -> None:
    """Audio first: held for ``video_wait``; no video came, so audio segments of ~target."""
    a_step = 1920
    frames = [audio(i * a_step) for i in range(int(5 * S / a_step))]
    seg = Segmenter(target=2 * S, video_wait=S // 2)
    segments, chunks = run(seg, frames)
    assert seg.skipped == 0
    assert [s.start for s in segments] == [0, 180480, 360960]
    assert sum(s.frames for s in segments) == len(frames)
    for data in chunks:
        assert data[1:3] == b"\x40\x00"  # PSI before the first audio frame of each segment


def test_audio_held_then_video_arrives_starts_at_the_key() -> None:
    frames = [audio(0), audio(1920), video(3000, key=True), audio(3840), video(6600)]
    segments, _ = run(Segmenter(target=S), frames)
    assert [(s.start, s.frames) for s in segments] == [(3000, 3)]


@pytest.mark.parametrize("jump", [-60 * S, 30 * S], ids=["backwards", "forwards"])
def test_timestamp_jump_closes_at_next_key_and_marks_discontinuity(jump) -> None:
    before = av_stream(3, 1)
    after = av_stream(3, 1, start=3 * S + jump + S)
    segments, _ = run(Segmenter(target=10 * S), before + after)
    assert len(segments) == 2
    assert segments[0].duration == 3 * S  # ends where its own frames end
    assert segments[1].discontinuity and not segments[0].discontinuity
    assert segments[1].start == 3 * S + jump + S


def test_close_gives_the_last_segment_its_length_and_is_idempotent() -> None:
    seg = Segmenter(target=4 * S)
    for f in av_stream(2, 1):
        seg.feed(f)
    last = seg.close()
    assert last is not None and last.duration == 2 * S
    assert seg.close() is None


def test_a_bad_target_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Segmenter(target=0)
