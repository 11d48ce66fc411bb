"""Live HLS windows fed in batches (``feed_many``, as the live HLS feeds them) hold exactly
the segments and parts they hold when fed frame by frame."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hls_window import AUDIO, T0, VIDEO, av

from headwater.media.frames import Frame
from headwater.media.segmenter import Segmenter
from headwater_hls.part_window import PartWindow
from headwater_hls.tracks import SelectedWindow, TrackSelection
from headwater_hls.window import SegmentWindow


def _segments(window) -> list[tuple]:
    return [
        (s.sequence, bytes(s.data), s.duration, s.date_time, s.discontinuity)
        for s in window.segments
    ]


def _feed(window, frames: list[Frame], size: int) -> bool:
    if size == 1:
        return any([window.feed(f) is not None for f in frames])
    return any([window.feed_many(frames[i : i + size]) for i in range(0, len(frames), size)])


def _segment_window(**kw) -> SegmentWindow:
    # one PES per AAC frame: grouped audio differs with the batches by design (a batch's
    # frames share PES); test_gather checks that grouping keeps every frame
    kw.setdefault("audio_pes_bytes", 0)
    return SegmentWindow(target=2.0, count=4, sequence=1000, discontinuity=50, **kw)


@pytest.mark.parametrize("size", [3, 8, 40, 10_000])
@pytest.mark.parametrize("gop", [0.5, 1.0, 3.0])
def test_segment_window_in_batches_equals_frame_by_frame(size, gop) -> None:
    """The first segment (closed at the first keyframe after the GOP cache), the later
    ones, a republication: the same segments, byte for byte."""
    frames = av(9, gop)
    again = av(5, gop, start=frames[-1].dts + 90000)
    windows = []
    for step in (1, size):
        w = _segment_window()
        w.start_publication([VIDEO, AUDIO], T0, frames[0].dts)
        assert _feed(w, frames, step)
        w.end_publication()
        w.start_publication([VIDEO, AUDIO], T0 + 10, again[0].dts)
        _feed(w, again, step)
        w.end_publication()
        windows.append(w)
    assert _segments(windows[0]) == _segments(windows[1])
    assert len(windows[0].segments) == 5


def test_an_oversized_segment_is_dropped_in_batches_too() -> None:
    """No keyframe in time: the open segment is thrown away, later ones are cut again."""
    frames = av(8, 8)
    w = _segment_window(max_segment_bytes=20_000)
    w.start_publication([VIDEO, AUDIO], T0, frames[0].dts)
    w.feed_many(frames[:2])
    w.feed_many(frames[2:])
    assert w.oversized >= 1
    assert not w.segments or all(len(s.data) < 40_000 for s in w.segments)


def test_selected_and_low_latency_windows_in_batches() -> None:
    """A track selection passes only its tracks on; LL-HLS parts are the same."""
    frames = av(6, 1.0)
    results = []
    for step in (1, 7):
        inner = _segment_window()
        selected = SelectedWindow(inner, TrackSelection.parse("a1"))
        selected.start_publication([VIDEO, AUDIO], T0, frames[0].dts)
        _feed(selected, frames, step)
        selected.end_publication()
        parts = PartWindow(target=2.0, part_target=0.5, count=4, sequence=1000, discontinuity=50)
        parts.start_publication([VIDEO, AUDIO], T0, frames[0].dts)
        _feed(parts, frames, step)
        results.append((_segments(inner), parts.media_playlist()))
    assert results[0] == results[1]
    assert results[0][0], "audio-only segments were cut"


@settings(max_examples=60, deadline=None)
@given(
    gop=st.sampled_from([0.4, 1.0, 2.0, 3.2]),
    skip=st.integers(0, 30),
    cuts=st.lists(st.integers(1, 400), max_size=12),
    jump=st.sampled_from([None, -5 * 90000, 20 * 90000]),
    jump_at=st.integers(0, 200),
)
def test_the_start_in_batches_equals_frame_by_frame(gop, skip, cuts, jump, jump_at) -> None:
    """A live start: frames from any point of the stream (non-key ones first, dropped),
    the first segment closed at the next keyframe in whichever batch holds it, a
    timestamp jump anywhere; the batches hold what frame by frame holds, byte for byte."""
    frames = av(8, gop)[skip:]
    if jump is not None and jump_at < len(frames):
        frames = frames[:jump_at] + [
            Frame(f.track, f.pts + jump, f.dts + jump, f.keyframe, nalus=f.nalus, data=f.data)
            for f in frames[jump_at:]
        ]
    bounds = sorted({0, len(frames), *(c % (len(frames) + 1) for c in cuts)})
    one, many = _segment_window(), _segment_window()
    for w in (one, many):
        w.start_publication([VIDEO, AUDIO], T0, frames[0].dts)
    closed_one = [one.feed(f) is not None for f in frames]
    closed_many = [many.feed_many(frames[a:b]) for a, b in pairwise(bounds)]
    assert any(closed_one) == any(closed_many)
    assert _segments(one) == _segments(many)
    one.end_publication()
    many.end_publication()
    assert _segments(one) == _segments(many)


def test_the_start_is_muxed_in_batches(monkeypatch) -> None:
    """The frames of the first segment go through the batch muxer too (not frame by frame)."""
    frames = av(9, 2)[5:]  # from the middle of a group of pictures: keyframes at 2, 4, 6, 8 s
    keys = [i for i, f in enumerate(frames) if f.keyframe and f.track is VIDEO]

    def one_by_one(self, frame):
        raise AssertionError("Segmenter.feed called")

    monkeypatch.setattr(Segmenter, "feed", one_by_one)
    w = _segment_window()
    w.start_publication([VIDEO, AUDIO], T0, frames[0].dts)
    backlog = keys[1] + 5  # the first keyframe, its group and the next keyframe
    assert w.feed_many(frames[:backlog]) is True
    for first in range(backlog, len(frames), 10):
        w.feed_many(frames[first : first + 10])
    assert [s.duration for s in w.segments][:3] == [2.0, 2.0, 2.0]
