"""Segmenter gives exactly what the segmenter before its per-frame shortcuts gave.

``legacy_segmenter.py`` is the cutter of commit 9054a7b; both are fed the same frames
(hypothesis-made streams with keyframes, audio, gaps and jumps back and forth, and a real
ffmpeg clip) and every step is compared: the TS bytes, and the closed and opened segments
field by field, then what ``close()`` returns.
"""

from __future__ import annotations

from dataclasses import astuple

import legacy_segmenter
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_segmenter_fuzz import AUDIO, VIDEO, frames_from, steps

from headwater.media.frames import CLOCK_RATE, Frame
from headwater.media.mpegts import TracksChanged, TSReader
from headwater.media.segmenter import Segmenter


def _info(segment) -> tuple | None:
    return None if segment is None else astuple(segment)


def assert_same(frames: list[Frame], tracks=(), **options) -> int:
    """Feed both cutters; every step and the final close agree. Returns segments opened."""
    new = Segmenter(list(tracks), **options)
    old = legacy_segmenter.Segmenter(list(tracks), **options)
    opened = 0
    for i, frame in enumerate(frames):
        a, b = new.feed(frame), old.feed(frame)
        assert a.data == b.data, f"frame {i}: TS bytes differ"
        assert _info(a.closed) == _info(b.closed), f"frame {i}: closed segment differs"
        assert _info(a.opened) == _info(b.opened), f"frame {i}: opened segment differs"
        opened += a.opened is not None
    assert _info(new.close()) == _info(old.close())
    assert new.skipped == old.skipped
    return opened


@settings(max_examples=300, deadline=None)
@given(steps, st.integers(1, 8), st.sampled_from([CLOCK_RATE, 2 * CLOCK_RATE, 10 * CLOCK_RATE]))
def test_hypothesis_streams_cut_the_same(plan, target_s, max_gap) -> None:
    """Keyframes anywhere, audio first, timestamps that stall, jump ahead and go back."""
    assert_same(
        frames_from(plan),
        target=target_s * CLOCK_RATE,
        max_gap=max_gap,
        video_wait=CLOCK_RATE // 2,
    )


# repeated timestamps and regular steps are common in real streams: draw them often
regular_steps = st.lists(
    st.tuples(
        st.booleans(),
        st.booleans(),
        st.one_of(
            st.sampled_from([0, 0, 1500, 3000]), st.integers(-5 * CLOCK_RATE, 15 * CLOCK_RATE)
        ),
        st.integers(1, 3000),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(regular_steps, st.integers(1, 4))
def test_hypothesis_regular_streams_cut_the_same(plan, target_s) -> None:
    """Mostly regular timestamps with repeats: the durations that depend on the last steps."""
    assert_same(frames_from(plan), target=target_s * CLOCK_RATE, max_gap=2 * CLOCK_RATE)


def test_a_repeated_timestamp_keeps_the_last_step() -> None:
    """The end of a segment is the last DTS plus the last non-zero step of its track."""
    frames = [Frame(VIDEO, 0, 0, True, nalus=(b"\x65\x00",))]
    frames += [Frame(AUDIO, t, t, True, data=b"\x21") for t in (0, 1920, 3840, 3840)]
    frames += [Frame(VIDEO, 1000, 1000, False, nalus=(b"\x41\x00",))]
    assert assert_same(frames, target=CLOCK_RATE) == 1
    segmenter = Segmenter(target=CLOCK_RATE)
    for frame in frames:
        segmenter.feed(frame)
    closed = segmenter.close()
    assert closed is not None and closed.duration == 3840 + 1920


@pytest.mark.parametrize("target", [1, CLOCK_RATE, 4 * CLOCK_RATE])
def test_a_real_clip_cuts_the_same(test_media, target) -> None:
    """An ffmpeg H.264 + AAC clip, cut at every keyframe, every second and every 4 s."""
    data = test_media("h264", "aac", "ts", seconds=6, gop=25, size="160x120").read_bytes()
    reader = TSReader()
    events = reader.feed(data) + reader.flush()
    frames = [e for e in events if not isinstance(e, TracksChanged)]
    assert assert_same(frames, reader.tracks, target=target) >= 2
