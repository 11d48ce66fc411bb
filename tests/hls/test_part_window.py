"""The sans-I/O low-latency window: parts, segments, numbering, init changes, playlists.

Frames are synthetic H.264 at 25 fps (a keyframe a second) with AAC; every part's bytes
are parsed back with the test-side box reader.
"""

from __future__ import annotations

import re
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.media.frames import Codec, Frame, Track
from headwater.media.hls import (
    LowLatencyPlaylist,
    Part,
    PartedSegment,
    advance_part_limit,
    part_hold_back,
    render_low_latency_playlist,
)
from headwater_hls.live_parts import init_uri, part_uri, segment_uri
from headwater_hls.part_window import PartWindow
from headwater_hls.tracks import SelectedWindow, TrackSelection

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
from box_reader import parse, root
from core_helpers import AAC, H264, audio, frame_index, video

T0 = 1_795_946_400.0


def window(**kw) -> PartWindow:
    options = {"target": 1.0, "part_target": 0.5, "count": 3, "sequence": 100, "discontinuity": 7}
    return PartWindow(**{**options, **kw})


def av(first: int, count: int, gop: int = 25) -> list[Frame]:
    """Video frames first..first+count (25 fps) with their audio, interleaved by time."""
    frames = []
    for i in range(first, first + count):
        frames.append(video(i, gop=gop))
        frames += [audio(a) for a in range(i * 3600 // 1920, (i + 1) * 3600 // 1920)]
    return frames


def feed(w: PartWindow, frames: list[Frame]) -> list:
    return [p for f in frames if (p := w.feed(f)) is not None]


def video_indexes(data: bytes) -> list[int]:
    """The synthetic frame indexes in a part's (or segment's) video samples, in order."""
    indexes = []
    boxes = parse(data)
    for moof, mdat in zip(boxes[::2], boxes[1::2], strict=True):
        assert mdat.kind == b"mdat"
        for traf in moof.children[1:]:
            if struct.unpack(">I", traf.find(b"tfhd").body)[0] != 1:
                continue
            trun = traf.find(b"trun")
            count, offset = struct.unpack(">Ii", trun.body[:8])
            pos = moof.offset + offset
            for n in range(count):
                size = struct.unpack(">I", trun.body[12 + 16 * n : 16 + 16 * n])[0]
                nal = data[pos + 4 : pos + size]
                indexes.append(frame_index(Frame(H264, 0, 0, nalus=(nal,))))
                pos += size
    return indexes


def test_parts_are_at_most_the_part_target_and_independent_at_keyframes() -> None:
    w = window()
    w.start_publication([H264, AAC], T0, 0)
    parts = feed(w, av(0, 101))
    # 25 fps, 0.5 s parts: 12 frames, 12 frames, then the keyframe ends the 1 s segment
    assert [round(p.duration * 25) for p in parts[:6]] == [12, 12, 1, 12, 12, 1]
    assert all(p.duration <= 0.5 for p in parts)
    assert [p.independent for p in parts[:4]] == [True, False, False, True]
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    assert video_indexes(parts[0].data) == list(range(12))
    assert video_indexes(parts[3].data) == list(range(25, 37))
    # a segment is its parts, in order; it starts at its keyframe
    segment = w.segment(101)
    assert segment is not None and segment.data == b"".join(p.data for p in parts[3:6])
    assert video_indexes(segment.data) == list(range(25, 50))
    assert w.segment(104) is None, "the open segment is not served whole"
    # keyframe 100 opened segment 104; its first part closes with frame 112
    assert w.has_part(103, 2) and w.has_part(103, None) and w.has_part(102, 7)
    assert not w.has_part(104, 0) and w.last_position() == (103, 2)
    feed(w, av(101, 12))
    assert w.has_part(104, 0) and not w.has_part(104, 1) and not w.has_part(104, None)
    assert not w.has_part(105, 0) and w.last_position() == (104, 0)


def test_the_init_segment_describes_the_carried_tracks() -> None:
    w = window()
    mp3 = Track(3, Codec.MP3)
    w.start_publication([H264, AAC, mp3], T0, 0)
    feed(w, [*av(0, 30), Frame(mp3, 0, 0, True, data=b"x")])
    tracks = root(w.inits[1]).find(b"moov").all(b"trak")
    assert [t.find(b"mdia", b"hdlr").body[4:8] for t in tracks] == [b"vide", b"soun"]


def test_the_playlist_lists_parts_of_the_newest_segments_and_hints_the_next() -> None:
    w = window(count=5)
    w.start_publication([H264, AAC], T0, 0)
    feed(w, av(0, 190))  # segments 100..106 closed, 107 open
    text = w.media_playlist()
    assert text.startswith("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n")
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500\n" in text
    assert "#EXT-X-PART-INF:PART-TARGET=0.500\n" in text
    assert "#EXT-X-MEDIA-SEQUENCE:102\n" in text
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:7\n" in text
    assert text.count("#EXT-X-MAP:") == 1 and f'#EXT-X-MAP:URI="{init_uri(1)}"' in text
    listed = re.findall(r"^ll-(\d+)\.m4s$", text, re.M)
    assert listed == [str(n) for n in range(102, 107)]
    # parts: only for the last three target durations and the open segment
    parts = re.findall(r'URI="ll-part-(\d+)\.m4s"', text)
    assert len(parts) == 3 * 3 + 1 + 1  # segments 104-106, the open 107's one part, the hint
    hint = w.next_part
    assert text.endswith(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{part_uri(hint)}"\n')
    assert text.count("#EXT-X-PROGRAM-DATE-TIME:") == 6
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:07.000Z\n" in text  # segment 107
    assert segment_uri(107) not in text  # still open
    w.end_publication()
    ended = w.media_playlist()
    assert "PRELOAD-HINT" not in ended and segment_uri(107) in ended


def test_a_republication_gets_a_new_init_and_a_discontinuity() -> None:
    w = window()
    w.start_publication([H264, AAC], T0, 0)
    feed(w, av(0, 60))
    w.end_publication()
    w.start_publication([H264, AAC], T0 + 3, 0)
    feed(w, av(0, 60))
    text = w.media_playlist()
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1
    maps = re.findall(r'#EXT-X-MAP:URI="(.+)"', text)
    assert maps == [init_uri(1), init_uri(2)]
    assert set(w.inits) == {1, 2}
    numbers = [int(n) for n in re.findall(r"^ll-(\d+)\.m4s$", text, re.M)]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def test_a_new_configuration_starts_a_segment_with_a_new_init() -> None:
    w = window()
    w.start_publication([H264, AAC], T0, 0)
    feed(w, av(0, 30))
    changed = Track(1, Codec.H264, parameter_sets=(H264.parameter_sets[0], b"\x68\xee\x3c\x80"))
    frames = [video(i, track=changed) for i in range(30, 70)]  # keyframe 50 starts anew
    feed(w, frames)
    assert set(w.inits) == {1, 2}
    assert w.segments[-1].init == 2 and w.segments[-1].discontinuity
    # the same configuration in a new Track object changes nothing
    same = Track(1, Codec.H264, parameter_sets=changed.parameter_sets)
    feed(w, [video(i, track=same) for i in range(70, 80)])
    assert set(w.inits) == {1, 2}


def test_audio_only_streams_are_cut_by_audio() -> None:
    w = window()
    w.start_publication([AAC], T0, 0)
    parts = feed(w, [audio(i) for i in range(200)])  # 4.27 s
    assert parts and all(p.independent for p in parts)
    assert all(p.duration <= 0.5 for p in parts)
    assert sum(1 for s in w.segments if s.complete) == 4


def test_an_oversized_segment_is_dropped_until_the_next_keyframe() -> None:
    w = window(max_segment_bytes=3000)
    w.start_publication([H264], T0, 0)
    feed(w, [video(i, gop=1000) for i in range(100)])  # one keyframe only
    assert w.oversized == 1 and not w.segments


def test_frames_that_never_advance_are_bounded_too() -> None:
    w = window(max_segment_bytes=3000)
    w.start_publication([H264], T0, 0)
    stuck = [video(i, gop=1000) for i in range(100)]
    for frame in stuck:
        frame.dts = frame.pts = 0  # every timestamp the same: no part would ever close
    feed(w, stuck)
    assert w.oversized == 1 and not w._part_frames and not w.segments


def test_a_selection_of_the_low_latency_window() -> None:
    w = SelectedWindow(window(), TrackSelection.parse("a1"))
    w.start_publication([H264, AAC], T0, 0)
    feed(w, av(0, 60))
    (trak,) = root(w.inits[1]).find(b"moov").all(b"trak")
    assert trak.find(b"mdia", b"hdlr").body[4:8] == b"soun"


def test_parts_must_be_shorter_than_segments() -> None:
    with pytest.raises(ValueError, match="shorter"):
        window(part_target=1.0)


@pytest.mark.parametrize(
    ("part_target", "limit"), [(0.2, 15), (0.5, 6), (0.9, 3), (1.0, 3), (2, 3)]
)
def test_advance_part_limit(part_target: float, limit: int) -> None:
    assert advance_part_limit(part_target) == limit


def test_playlist_tags_in_order() -> None:
    text = render_low_latency_playlist(
        LowLatencyPlaylist(
            [
                PartedSegment("s1.m4s", 2.0, [], "init1.mp4", T0),
                PartedSegment(
                    "s2.m4s",
                    1.96,
                    [Part("p1.m4s", 1.0, True), Part("p2.m4s", 0.96)],
                    "init2.mp4",
                    T0 + 2,
                    discontinuity=True,
                ),
                PartedSegment(None, 0.3, [Part("p3.m4s", 0.3, True)], "init2.mp4", T0 + 3.96),
            ],
            target=2.0,
            part_target=1.0,
            media_sequence=41,
            discontinuity_sequence=3,
            preload_hint="p4.m4s",
        )
    )
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.000\n"
        "#EXT-X-PART-INF:PART-TARGET=1.000\n#EXT-X-MEDIA-SEQUENCE:41\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-MAP:URI="init1.mp4"\n#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:00.000Z\n'
        "#EXTINF:2.000,\ns1.m4s\n"
        '#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init2.mp4"\n'
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:02.000Z\n"
        '#EXT-X-PART:DURATION=1.000,URI="p1.m4s",INDEPENDENT=YES\n'
        '#EXT-X-PART:DURATION=0.960,URI="p2.m4s"\n#EXTINF:1.960,\ns2.m4s\n'
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:03.960Z\n"
        '#EXT-X-PART:DURATION=0.300,URI="p3.m4s",INDEPENDENT=YES\n'
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p4.m4s"\n'
    )
    assert part_hold_back(0.5) == 1.5


frame_plans = st.lists(
    st.tuples(
        st.sampled_from(["video", "audio", "mp3"]),
        st.integers(-4000, 40_000),  # the step from the previous frame: jitter, gaps, jumps
        st.booleans(),  # keyframe (video)
        st.integers(0, 3000),  # payload size
    ),
    max_size=150,
)


@settings(max_examples=60, deadline=None)
@given(frame_plans, st.booleans())
def test_any_frame_sequence_keeps_the_window_consistent(plan, republish: bool) -> None:
    mp3 = Track(3, Codec.MP3)
    w = window(max_segment_bytes=200_000)
    w.start_publication([H264, AAC, mp3], T0, 0)
    dts = 0
    for n, (kind, step, key, size) in enumerate(plan):
        dts += step
        if kind == "video":
            nal = bytes([0x65 if key else 0x41]) + bytes(size)
            frame = Frame(H264, dts, dts, key, nalus=(nal,))
        else:
            frame = Frame(AAC if kind == "audio" else mp3, dts, dts, True, data=bytes(size))
        w.feed(frame)
        if republish and n == len(plan) // 2:
            w.end_publication()
            w.start_publication([H264, AAC], T0 + 60, dts)
    w.end_publication()
    numbers = [p.number for s in w.segments for p in s.parts]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    for segment in w.segments:
        assert segment.parts and segment.init in w.inits
        assert segment.data == b"".join(p.data for p in segment.parts)
        for part in segment.parts:
            assert w.part(part.number) is part
            boxes = parse(part.data)  # every part is whole boxes: moof then mdat
            assert [b.kind for b in boxes] == [b"moof", b"mdat"]
    sequences = [s.sequence for s in w.segments]
    assert not sequences or sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    listed = [int(n) for n in re.findall(r"^ll-(\d+)\.m4s$", w.media_playlist(), re.M)]
    assert listed == sequences[-len(listed) :] if listed else True
    text = w.media_playlist()
    assert text.startswith("#EXTM3U\n") and "PRELOAD-HINT" not in text


@settings(max_examples=60, deadline=None)
@given(frame_plans, st.integers(0, 150), st.booleans())
def test_cached_playlists_are_always_the_fresh_rendering(plan, change_at: int, oversize) -> None:
    """The playlists the HTTP side sends (rendered once per change) equal a rendering made
    now, after every frame, republication, new configuration and thrown-away segment."""
    mp3 = Track(3, Codec.MP3)
    w = window(max_segment_bytes=20_000 if oversize else 200_000)

    def check() -> None:
        assert w.media_playlist_bytes() == w.media_playlist().encode()
        tracks = [H264, AAC]
        assert (
            w.master_playlist_bytes(tracks, "m.m3u8")
            == w.master_playlist(tracks, "m.m3u8").encode()
        )
        for s in w.segments:
            assert s.data == b"".join(p.data for p in s.parts)

    check()
    w.start_publication([H264, AAC, mp3], T0, 0)
    check()
    dts = 0
    for n, (kind, step, key, size) in enumerate(plan):
        dts += step
        if kind == "video":
            nal = bytes([0x65 if key else 0x41]) + bytes(size)
            track = H264 if n < change_at else Track(1, Codec.H264, parameter_sets=(bytes(5),))
            frame = Frame(track, dts, dts, key, nalus=(nal,))
        else:
            frame = Frame(AAC if kind == "audio" else mp3, dts, dts, True, data=bytes(size))
        w.feed(frame)
        check()
        if n == change_at:
            w.end_publication()
            check()
            w.start_publication([H264, AAC], T0 + 60, dts)
            check()
    w.end_publication()
    check()


def segments_of(text: str, maps: dict[str, str] | None = None) -> list[tuple]:
    """Each segment a playlist lists, as a player reads it: (URI, EXTINF, date, whether a
    discontinuity precedes it, the init segment in effect)."""
    out, date, gap, current = [], None, False, None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-MAP:URI="):
            current = line.split('"')[1]
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            date = line.split(":", 1)[1]
        elif line == "#EXT-X-DISCONTINUITY":
            gap = True
        elif line.startswith("#EXTINF:"):
            out.append((lines[i + 1], line, date, gap, current))
            gap = False
    return out


def test_delta_updates_skip_the_oldest_segments_past_six_target_durations() -> None:
    w = window(count=10)  # 10 one-second segments: more than the 6 s skip boundary
    w.start_publication([H264, AAC], T0, 0)
    feed(w, av(0, 300))  # segments 100..110 closed (a first short one), 111 open
    full = w.media_playlist()
    delta = w.media_playlist(skip=True)
    assert (
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.500,CAN-SKIP-UNTIL=6.000\n"
        in full
    )
    assert "#EXT-X-SKIP" not in full and "#EXT-X-VERSION:6\n" in full
    skipped = int(re.search(r"^#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)$", delta, re.M).group(1))
    assert "#EXT-X-VERSION:9\n" in delta
    head = lambda text: text[: text.index("#EXT-X-INDEPENDENT-SEGMENTS")]  # noqa: E731
    assert head(delta) == head(full).replace("VERSION:6", "VERSION:9")
    listed = segments_of(full)
    # the player's merge: the skipped segments from its last playlist, then the update
    assert listed[:skipped] + segments_of(delta) == listed
    # what is left spans the skip boundary; one segment fewer would not
    durations = [float(s[1][8:-1]) for s in listed]
    open_part = sum(
        float(d) for d in re.findall(r"DURATION=([\d.]+)", full.split(listed[-1][0])[1])
    )
    left = sum(durations[skipped:]) + open_part
    assert left - durations[skipped] < 6 <= left
    assert delta.endswith(full[full.index("#EXT-X-PRELOAD-HINT") :])
    assert w.media_playlist_bytes(skip=True) == delta.encode()
    assert w.media_playlist_bytes() == full.encode()


def test_short_playlists_offer_no_delta_updates() -> None:
    w = window(count=6)  # six one-second segments: nothing is ever past the boundary
    w.start_publication([H264, AAC], T0, 0)
    feed(w, av(0, 300))
    assert "CAN-SKIP-UNTIL" not in w.media_playlist()
    assert w.media_playlist(skip=True) == w.media_playlist()


def test_a_delta_update_keeps_the_discontinuity_of_its_first_segment() -> None:
    w = window(count=10)
    w.start_publication([H264, AAC], T0, 0)
    feed(w, av(0, 130))  # segments 100..105, 106 open
    w.end_publication()
    w.start_publication([H264, AAC], T0 + 10, 0)
    feed(w, av(0, 230))
    full, delta = w.media_playlist(), w.media_playlist(skip=True)
    listed = segments_of(full)
    skipped = int(re.search(r"SKIPPED-SEGMENTS=(\d+)", delta).group(1))
    assert listed[:skipped] + segments_of(delta) == listed
    assert any(s[3] for s in listed), "a discontinuity is listed"
    # the republished segments carry the second init segment, before and after the skip
    assert {s[4] for s in listed} == {init_uri(1), init_uri(2)}


@settings(max_examples=40, deadline=None)
@given(st.integers(7, 14), st.integers(1, 600), st.integers(0, 600), st.sampled_from([1, 2]))
def test_any_delta_update_merges_back_into_the_full_playlist(count, first, second, target):
    w = window(count=count, target=float(target))
    w.start_publication([H264, AAC], T0, 0)
    feed(w, av(0, first))
    if second:
        w.end_publication()
        w.start_publication([H264, AAC], T0 + 60, 0)
        feed(w, av(0, second, gop=13))
    full, delta = w.media_playlist(), w.media_playlist(skip=True)
    found = re.search(r"^#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)$", delta, re.M)
    skipped = int(found.group(1)) if found else 0
    listed = segments_of(full)
    assert listed[:skipped] + segments_of(delta) == listed
    assert (skipped > 0) == ("#EXT-X-VERSION:9" in delta)
    if not skipped:
        assert delta == full
