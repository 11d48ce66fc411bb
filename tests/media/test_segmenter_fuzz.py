"""Property tests of the segment cutter: whatever the frames, no frame is lost or reordered,
every segment starts with PAT/PMT (and a keyframe when there is video), durations add up."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from headwater.media.frames import CLOCK_RATE, Codec, Frame, Track
from headwater.media.segmenter import Segmenter

VIDEO = Track(1, Codec.H264, parameter_sets=(b"\x67\x42\x00\x1e\xab", b"\x68\xce\x3c\x80"))
AUDIO = Track(2, Codec.AAC, config=b"\x11\x90", sample_rate=48000, channels=2)

# one step: (video or audio, keyframe, dts increment in ticks, payload size)
steps = st.lists(
    st.tuples(
        st.booleans(),
        st.booleans(),
        st.one_of(st.integers(0, 9000), st.integers(-20 * CLOCK_RATE, 20 * CLOCK_RATE)),
        st.integers(1, 600),
    ),
    max_size=120,
)


def frames_from(plan) -> list[Frame]:
    dts = 0
    out = []
    for is_video, key, step, size in plan:
        dts = max(0, dts + step)
        if is_video:
            nal = (b"\x65" if key else b"\x41") + bytes(size)
            out.append(Frame(VIDEO, dts, dts, key, nalus=(nal,)))
        else:
            out.append(Frame(AUDIO, dts, dts, True, data=b"\x21" + bytes(size)))
    return out


@given(steps, st.integers(1, 8))
def test_invariants(plan, target_s) -> None:
    frames = frames_from(plan)
    seg = Segmenter(target=target_s * CLOCK_RATE, video_wait=CLOCK_RATE // 2)
    segments = []
    for frame in frames:
        step = seg.feed(frame)
        if step.closed is not None:
            assert step.closed is segments[-1] and step.closed.duration >= 0
        if step.opened is not None:
            segments.append(step.opened)
            assert step.data[1:3] == b"\x40\x00", "a segment starts with the PAT"
            if seg.has_video:
                assert frame.keyframe and frame.track is VIDEO
        assert len(step.data) % 188 == 0
    last = seg.close()
    assert last is (segments[-1] if segments else None)
    written = sum(s.frames for s in segments)
    if segments:  # every frame is in a segment, or was skipped before the first keyframe
        assert written + seg.skipped == len(frames)
    else:  # audio still held while waiting for video when the stream ended
        assert seg.skipped <= len(frames)
    assert [s.sequence for s in segments] == list(range(len(segments)))
    assert all(s.size % 188 == 0 and s.size > 0 for s in segments)
