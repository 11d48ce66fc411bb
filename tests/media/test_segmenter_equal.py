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
from headwater.media.mpegts import TracksChanged, TSReader, packet_block
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


def pieces_of(steps: list, frames: list[Frame]) -> list[tuple]:
    """Per-frame steps grouped as ``feed_many`` returns them: a new piece at each opened
    segment; (data, closed, opened, DTS of the piece's last frame with bytes)."""
    pieces: list[list] = []
    for step, frame in zip(steps, frames, strict=True):
        if step.opened is not None or not pieces:
            if not step.data and step.opened is None:
                continue  # a dropped frame before any segment
            pieces.append([b"", _info(step.closed), _info(step.opened), None])
        if step.data:
            pieces[-1][0] += bytes(step.data)
            pieces[-1][3] = frame.dts
    return [tuple(p) for p in pieces if p[0]]


def assert_same_in_batches(frames: list[Frame], sizes, tracks=(), **options) -> None:
    """``feed_many`` over batches of ``sizes`` frames (cycling) gives the old cutter's bytes
    and segments, piece by piece, and the same ``close()``."""
    old = legacy_segmenter.Segmenter(list(tracks), **options)
    steps = [old.feed(f) for f in frames]
    expected = pieces_of(steps, frames)
    closed_old = _info(old.close())
    arenas = [None, packet_block.PacketArena(rows=8)] if packet_block.AVAILABLE else [None]
    for arena in arenas:  # also laid out in a reused arena (small: it overflows and grows)
        new = Segmenter(list(tracks), **options)
        _assert_batches_equal(new, frames, sizes, arena, expected)
        assert _info(new.close()) == closed_old
        assert new.skipped == old.skipped


def _assert_batches_equal(new, frames, sizes, arena, expected) -> None:
    got = []
    pos = i = 0
    while pos < len(frames):
        batch = frames[pos : pos + sizes[i % len(sizes)]]
        # the bytes are read before the arena is reset (the DVR writes them first)
        got += [step._replace(data=bytes(step.data)) for step in new.feed_many(batch, arena)]
        if arena is not None:
            arena.reset()
        pos += len(batch)
        i += 1
    got = [(step, _info(step.closed), _info(step.opened)) for step in got]  # as ``expected``
    # consecutive pieces without a boundary between them (batch edges) are one piece
    merged: list[list] = []
    for step, closed, opened in got:
        assert len(step.data) % 188 == 0 and step.data
        if opened is None and merged:
            merged[-1][0] += bytes(step.data)
            merged[-1][3] = step.last_dts
        else:
            merged.append([bytes(step.data), closed, opened, step.last_dts])
    assert [tuple(p) for p in merged] == expected


@settings(max_examples=300, deadline=None)
@given(
    steps,
    st.integers(1, 8),
    st.sampled_from([CLOCK_RATE, 2 * CLOCK_RATE, 10 * CLOCK_RATE]),
    st.lists(st.integers(1, 20), min_size=1, max_size=6),
)
def test_hypothesis_batches_cut_the_same(plan, target_s, max_gap, sizes) -> None:
    """``feed_many`` in batches of any sizes: cuts inside a batch and at its edges, audio
    held for video, jumps, dropped frames; the same bytes and segments as the old cutter."""
    assert_same_in_batches(
        frames_from(plan),
        sizes,
        target=target_s * CLOCK_RATE,
        max_gap=max_gap,
        video_wait=CLOCK_RATE // 2,
    )


@settings(max_examples=150, deadline=None)
@given(regular_steps, st.integers(1, 4), st.lists(st.integers(1, 30), min_size=1, max_size=4))
def test_hypothesis_regular_batches_cut_the_same(plan, target_s, sizes) -> None:
    """Mostly regular timestamps, fed in batches."""
    assert_same_in_batches(
        frames_from(plan), sizes, target=target_s * CLOCK_RATE, max_gap=2 * CLOCK_RATE
    )


@pytest.mark.parametrize("sizes", [[1], [4], [9, 3], [1000]])
@pytest.mark.parametrize("target", [1, CLOCK_RATE, 4 * CLOCK_RATE])
def test_a_real_clip_cuts_the_same_in_batches(test_media, target, sizes) -> None:
    """The ffmpeg clip in batches: several segments cut inside one batch, and at its edges."""
    data = test_media("h264", "aac", "ts", seconds=6, gop=25, size="160x120").read_bytes()
    reader = TSReader()
    events = reader.feed(data) + reader.flush()
    frames = [e for e in events if not isinstance(e, TracksChanged)]
    assert_same_in_batches(frames, sizes, reader.tracks, target=target)


def test_batches_across_the_wrap_and_track_changes() -> None:
    """Timestamps past 2**33 and a new Track object inside a batch (PMT version bump)."""
    start = (1 << 33) - 3 * CLOCK_RATE
    audio2 = AUDIO.__class__(2, AUDIO.codec, config=b"\x11\x88", sample_rate=48000, channels=1)
    frames = []
    for i in range(200):
        t = start + i * 1500
        frames.append(Frame(VIDEO, t + 3000, t, i % 30 == 0, nalus=(b"\x65" * (300 + i * 7),)))
        frames.append(Frame(AUDIO if i < 90 else audio2, t, t, True, data=b"\x21" * 200))
    for sizes in ([5], [64], [400], [3, 11]):
        assert_same_in_batches(frames, sizes, [VIDEO, AUDIO], target=CLOCK_RATE)


def test_batches_without_numpy(test_media, monkeypatch) -> None:
    """Where numpy is absent, a batch is written frame by frame: the same pieces."""
    from headwater.media.mpegts import packet_block

    monkeypatch.setattr(packet_block, "AVAILABLE", False)
    data = test_media("h264", "aac", "ts", seconds=6, gop=25, size="160x120").read_bytes()
    reader = TSReader()
    events = reader.feed(data) + reader.flush()
    frames = [e for e in events if not isinstance(e, TracksChanged)]
    assert_same_in_batches(frames, [9, 50], reader.tracks, target=CLOCK_RATE)
