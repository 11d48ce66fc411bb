"""Live HLS windows fed in batches (``feed_many``, as the live HLS feeds them) hold exactly
the segments and parts they hold when fed frame by frame."""

from __future__ import annotations

import pytest
from test_hls_window import AUDIO, T0, VIDEO, av

from headwater.media.frames import Frame
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
