"""The sans-I/O live HLS window: cut points, numbering across republish and restart, playlists.

Frames are synthetic (H.264 at 25 fps, AAC at 48 kHz); every segment's bytes are read back
with TSReader, so what a player would download is checked, not just the bookkeeping.
"""

from __future__ import annotations

import itertools
import re

import pytest

from headwater.media.frames import CLOCK_RATE, Codec, Frame, Track
from headwater.media.mpegts import TracksChanged, TSReader
from headwater_hls.window import (
    SegmentWindow,
    clock_discontinuity,
    clock_sequence,
    segment_uri,
)

S = CLOCK_RATE
SPS = b"\x67\x64\x00\x1f\xac\xd9\x41\x41"
VIDEO = Track(1, Codec.H264, parameter_sets=(SPS, b"\x68\xce\x3c\x80"), width=320, height=240)
AUDIO = Track(2, Codec.AAC, config=b"\x11\x90", sample_rate=48000, channels=2)
T0 = 1_795_946_400.0  # 2026-11-29T10:00:00Z


def av(seconds: float, gop: float, start: int = 0, fps: int = 25) -> list[Frame]:
    """Video with a keyframe every ``gop`` seconds and audio, interleaved by DTS (video
    first at equal DTS, as the GOP cache hands them out: it starts at the keyframe)."""
    frames = []
    step, per_gop = S // fps, round(gop * fps)
    for i in range(int(seconds * fps)):
        dts = start + i * step
        nal = b"\x65" if i % per_gop == 0 else b"\x41"
        frames.append((dts, 0, Frame(VIDEO, dts, dts, i % per_gop == 0, nalus=(nal + bytes(60),))))
    a_step = 1024 * S // 48000
    for i in range(int(seconds * S / a_step)):
        dts = start + i * a_step
        frames.append((dts, 1, Frame(AUDIO, dts, dts, True, data=b"\x21" + bytes(20))))
    return [f for *_, f in sorted(frames, key=lambda t: t[:2])]


def window(count: int = 3, target: float = 2.0, **options) -> SegmentWindow:
    return SegmentWindow(target=target, count=count, sequence=1000, discontinuity=50, **options)


def publish(w: SegmentWindow, frames: list[Frame], now: float = T0) -> list:
    w.start_publication([VIDEO, AUDIO], now, frames[0].dts)
    closed = [s for f in frames if (s := w.feed(f)) is not None]
    last = w.end_publication()
    return [*closed, *([last] if last else [])]


def tag(text: str, name: str) -> str:
    match = re.search(rf"^#{name}:(.*)$", text, re.M)
    assert match, f"no {name} in\n{text}"
    return match.group(1)


@pytest.mark.parametrize(
    ("seconds", "gop", "durations"),
    [
        # the first segment ends at the next keyframe (the cached GOP plays at once), then
        # each one at the first keyframe at or past the 2 s target; the last is what is left
        (7, 1, [1.0, 2.0, 2.0, 2.0]),
        (7, 3, [3.0, 3.0, 1.0]),  # a long GOP makes long segments, never split
        (5, 0.4, [0.4, 2.0, 2.0, 0.6]),
        (1.5, 2, [1.5]),  # a publication shorter than a GOP still gives its segment
    ],
)
def test_cut_points(seconds: float, gop: float, durations: list[float]) -> None:
    w = window(count=10)
    segments = publish(w, av(seconds, gop))
    assert [s.duration for s in segments] == pytest.approx(durations, abs=0.025)
    assert [s.sequence for s in segments] == list(range(1000, 1000 + len(durations)))
    for s in segments:
        events = TSReader().feed(s.data)
        assert isinstance(events[0], TracksChanged), "each segment starts with PAT/PMT"
        video = [e for e in events if isinstance(e, Frame) and e.track.codec is Codec.H264]
        assert video[0].keyframe, "each segment starts at a keyframe"


def test_every_frame_lands_in_exactly_one_segment() -> None:
    frames = av(6, 1)
    w = window(count=10)
    segments = publish(w, frames)
    got = 0
    for s in segments:
        reader = TSReader()
        got += sum(isinstance(e, Frame) for e in reader.feed(s.data) + reader.flush())
    assert got == len(frames)


def test_window_keeps_count_plus_one_and_lists_count() -> None:
    w = window(count=3)
    publish(w, av(12, 1))
    assert len(w.segments) == 4
    listed = w.listed()
    assert [s.sequence for s in listed] == [s.sequence for s in list(w.segments)[1:]]
    text = w.media_playlist()
    assert int(tag(text, "EXT-X-MEDIA-SEQUENCE")) == listed[0].sequence
    assert re.findall(r"^mono-\d+\.ts$", text, re.M) == [segment_uri(s.sequence) for s in listed]
    assert w.segment(w.segments[0].sequence) is not None  # the one kept for late clients
    assert w.segment(w.segments[0].sequence - 1) is None


def test_program_date_time_follows_the_publication_clock() -> None:
    w = window(count=10)
    frames = av(5, 1, start=123_456)
    segments = publish(w, frames, now=T0)
    assert segments[0].date_time == T0
    for a, b in itertools.pairwise(segments):
        assert b.date_time == pytest.approx(a.date_time + a.duration)
    text = w.media_playlist()
    assert text.count("#EXT-X-PROGRAM-DATE-TIME:") == len(w.listed())
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:00.000Z" in text


def test_republish_continues_numbers_with_a_discontinuity() -> None:
    w = window(count=10)
    first = publish(w, av(4, 1))
    # the publisher comes back with its clock restarted at zero
    second = publish(w, av(4, 1), now=T0 + 30)
    assert second[0].sequence == first[-1].sequence + 1
    assert second[0].discontinuity and not any(s.discontinuity for s in second[1:])
    text = w.media_playlist()
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1
    assert int(tag(text, "EXT-X-DISCONTINUITY-SEQUENCE")) == 50


def test_discontinuity_sequence_grows_when_the_tag_leaves_the_playlist() -> None:
    w = window(count=2)
    publish(w, av(4, 1))
    publish(w, av(2.5, 1), now=T0 + 10)  # discontinuity on its first segment
    before = w.media_playlist()
    assert "#EXT-X-DISCONTINUITY\n" in before
    seen = [int(tag(before, "EXT-X-DISCONTINUITY-SEQUENCE"))]
    w.start_publication([VIDEO, AUDIO], T0 + 20, 0)  # same clock: no new discontinuity...
    w._new_publication = False
    for f in av(8, 1, start=10 * S):
        w.feed(f)
    after = w.media_playlist()
    assert "#EXT-X-DISCONTINUITY\n" not in after
    seen.append(int(tag(after, "EXT-X-DISCONTINUITY-SEQUENCE")))
    assert seen == [50, 51]


def test_a_timestamp_jump_inside_a_publication_is_a_discontinuity() -> None:
    frames = av(3, 1) + av(3, 1, start=3600 * S)
    w = window(count=10)
    segments = publish(w, frames)
    flags = [s.discontinuity for s in segments]
    # the cutter (owned by the DVR branch) may flag the audio's own jump at the next
    # keyframe as well; at least the first segment after the jump must be marked
    assert flags[:3] == [False, False, True]
    assert segments[flags.index(True)].date_time > segments[0].date_time


@pytest.mark.parametrize(
    ("first_run_ends", "restart_at"),
    [(T0 + 60, T0 + 61), (T0 + 3600, T0 + 3600.5), (T0 + 5, T0 + 5), (T0 + 59, T0 + 120)],
)
def test_numbers_never_go_back_across_a_restart(first_run_ends: float, restart_at: float) -> None:
    """A new window (HLS restarted, or the whole server) starts past the old one's numbers."""
    old = SegmentWindow(
        target=0.5, count=3, sequence=clock_sequence(T0), discontinuity=clock_discontinuity(T0)
    )
    # the shortest segments allowed (0.5 s) for the whole run: the fastest numbers can grow
    seconds = first_run_ends - T0
    old.next_sequence += int(seconds / 0.5)
    old.discontinuities += int(seconds / 60)  # a republish every minute
    new_first = clock_sequence(restart_at)
    assert new_first >= old.next_sequence
    assert clock_discontinuity(restart_at) >= old.discontinuity_base + old.discontinuities


def test_oversized_segment_is_dropped_and_cutting_restarts() -> None:
    w = SegmentWindow(target=1, count=5, sequence=0, discontinuity=0, max_segment_bytes=4000)
    publish(w, av(6, 6))  # one GOP for six seconds: far past 4000 bytes
    assert w.oversized >= 1
    assert all(len(s.data) <= 4000 + 2000 for s in w.segments)


def test_master_playlist_names_codecs_resolution_and_bandwidth() -> None:
    w = window()
    publish(w, av(5, 1))
    text = w.master_playlist([VIDEO, AUDIO], "mono.m3u8")
    inf = tag(text, "EXT-X-STREAM-INF")
    assert 'CODECS="avc1.64001f,mp4a.40.2"' in inf
    assert "RESOLUTION=320x240" in inf
    peak = int(re.search(r"BANDWIDTH=(\d+)", inf).group(1))
    avg = int(re.search(r"AVERAGE-BANDWIDTH=(\d+)", inf).group(1))
    assert peak >= avg > 0
    assert text.rstrip().endswith("mono.m3u8")


def test_clock_numbers_stay_small_enough_for_hls_js() -> None:
    assert clock_discontinuity(T0) == 478_680  # minutes from 2026-01-01 to 2026-11-29 10:00
    assert clock_discontinuity(T0 + 10 * 365 * 86400) < 6_000_000  # still so in ten years
    assert clock_sequence(T0) == 17_959_464_000 < 2**53  # exact as a JavaScript number


def test_feed_outside_a_publication_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        window().feed(av(1, 1)[0])


@pytest.mark.parametrize("max_bytes", [1 << 20, 1_500])
def test_cached_playlists_are_always_the_fresh_rendering(max_bytes: int) -> None:
    """The playlists the HTTP side sends (rendered once per new segment) equal a rendering
    made now, after every frame, across a republication and a thrown-away segment."""
    w = SegmentWindow(
        target=1.0, count=3, sequence=1000, discontinuity=50, max_segment_bytes=max_bytes
    )

    def check() -> None:
        assert w.media_playlist_bytes() == w.media_playlist().encode()
        assert w.media_playlist_bytes("x/") == w.media_playlist("x/").encode()
        tracks = [VIDEO, AUDIO]
        assert w.master_playlist_bytes(tracks) == w.master_playlist(tracks).encode()
        assert w.master_playlist_bytes(tracks[:1]) == w.master_playlist(tracks[:1]).encode()

    check()
    for start, now in ((0, T0), (90_000 * 100, T0 + 200)):
        frames = av(6, 0.5, start=start)
        w.start_publication([VIDEO, AUDIO], now, frames[0].dts)
        for frame in frames:
            w.feed(frame)
            check()
        w.end_publication()
        check()
    assert (w.oversized > 0) == (max_bytes < 2000)
