"""How long live HLS lets frames gather between batches (``SegmentWindow.seconds_to_cut``
and ``live.gather_pause``): never past the point where a segment may close; and the
segments it keeps in the pieces it cut them in, sent piece by piece."""

from __future__ import annotations

import asyncio
import time

import anyio
import pytest
from test_hls_window import AUDIO, VIDEO, S, av, window

from headwater.media.frames import Frame
from headwater.media.mpegts import TSReader
from headwater_hls.live import GATHER_SECONDS, LONG_GATHER_SECONDS, LiveHLS, gather_pause
from headwater_hls.replies import Reply, send_reply
from headwater_hls.window import MAX_CHUNKS


def check_no_early_cut(frames: list[Frame], target: float, arrival: list[int]) -> None:
    """Feed ``frames`` one by one (frame ``i`` arrives at ``arrival[i]`` ticks of wall
    clock); after each, ``seconds_to_cut`` must not promise more time than passes before
    the next frame that closes a segment arrives."""
    w = window(target=target)
    w.start_publication([VIDEO, AUDIO], 0.0, frames[0].dts)
    promised: list[tuple[int, float]] = []  # (arrival, seconds_to_cut) after each frame
    for i, frame in enumerate(frames):
        if w.feed(frame) is not None:  # frame i closed a segment
            for at, left in promised:
                assert arrival[i] >= at + round(left * S), (at, left, arrival[i])
            promised = []
        left = w.seconds_to_cut()
        assert left >= 0
        promised.append((arrival[i], left))


@pytest.mark.parametrize("gop", [0.5, 1.0, 2.0, 3.3])
@pytest.mark.parametrize("target", [1.0, 2.0, 4.0])
def test_no_segment_closes_before_the_time_it_announced(gop: float, target: float) -> None:
    frames = av(12, gop)
    check_no_early_cut(frames, target, [f.dts for f in frames])


@pytest.mark.parametrize("second_start", [3600 * S, 0, int(2.5 * S)])
def test_nor_after_a_timestamp_jump(second_start: int) -> None:
    # 3 s from 60 s, then 3 s from ``second_start``: forwards by an hour, backwards to 0,
    # and backwards by half a second
    first, second = av(3, 1, start=60 * S), av(3, 1, start=second_start)
    arrival = [f.dts - 60 * S for f in first] + [f.dts - second_start + 3 * S for f in second]
    check_no_early_cut(first + second, 2.0, arrival)


def test_the_first_segment_allows_no_gathering() -> None:
    w = window(target=2.0)
    assert w.seconds_to_cut() == 0  # no publication
    frames = av(1, 1)
    w.start_publication([VIDEO, AUDIO], 0.0, frames[0].dts)
    assert w.seconds_to_cut() == 0  # nothing fed
    w.feed(frames[0])
    assert w.seconds_to_cut() == 0  # the first segment closes at the next keyframe


def test_mid_segment_it_is_the_media_time_to_the_target() -> None:
    frames = av(5, 2)  # keyframes at 0, 2 and 4 s; the second segment opens at 2 s
    w = window(target=2.0)
    w.start_publication([VIDEO, AUDIO], 0.0, 0)
    upto = [f for f in frames if f.dts <= int(2.5 * S)]
    assert w.feed_many(upto)  # the first segment closed at 2 s
    assert w.seconds_to_cut() == pytest.approx((4 * S - upto[-1].dts) / S)


@pytest.mark.parametrize(
    ("left", "pause"),
    [
        (0.0, GATHER_SECONDS),
        (0.01, GATHER_SECONDS),
        (0.5, 0.5 + GATHER_SECONDS / 2),
        (0.9, 0.9 + GATHER_SECONDS / 2),
        (1.5, LONG_GATHER_SECONDS),
        (30.0, LONG_GATHER_SECONDS),
    ],
)
def test_gather_pause(left: float, pause: float) -> None:
    assert gather_pause(left) == pytest.approx(pause)


def test_a_segment_is_one_piece_or_the_pieces_it_was_cut_in() -> None:
    frames = av(7, 2)  # keyframes at 0, 2, 4 and 6 s
    w = window(target=2.0, audio_pes_bytes=0)  # grouped audio differs by batch (below)
    w.start_publication([VIDEO, AUDIO], 0.0, 0)
    for first in range(0, len(frames), 10):  # batches of 10 frames
        w.feed_many(frames[first : first + 10])
    # the first segment in pieces (nothing to size a block from yet); the later ones laid
    # out in one block each (headwater_hls.segment_block)
    first, *later = w.segments
    assert 1 < len(first.chunks) <= MAX_CHUNKS
    assert later and all(len(s.chunks) == 1 for s in later)
    for s in w.segments:
        assert s.size == len(s.data) == sum(len(c) for c in s.chunks)
    frame_by_frame = window(target=2.0, audio_pes_bytes=0)
    frame_by_frame.start_publication([VIDEO, AUDIO], 0.0, 0)
    for frame in frames:
        frame_by_frame.feed(frame)
    assert [s.data for s in frame_by_frame.segments] == [s.data for s in w.segments]


def audio_pes_starts(data: bytes) -> int:
    """PES that begin on the audio PID (the writer gives track 2 PID 257)."""
    return sum(
        1
        for pos in range(0, len(data), 188)
        if data[pos + 1] & 0x40 and ((data[pos + 1] & 0x1F) << 8 | data[pos + 2]) == 257
    )


def media(segments) -> dict[int, list[tuple[int, bytes]]]:
    """Every frame read back from the segments, by track: (DTS, payload) in order (a
    grouped PES comes where its first frame was, so the tracks interleave differently)."""
    reader = TSReader()
    events = [e for s in segments for e in reader.feed(s.data)] + reader.flush()
    tracks: dict[int, list[tuple[int, bytes]]] = {}
    for e in events:
        if isinstance(e, Frame):
            tracks.setdefault(e.track.id, []).append((e.dts, bytes(e.data)))
    return tracks


def test_a_batch_groups_its_audio_frames_as_ffmpeg_does() -> None:
    frames = av(7, 2)
    grouped, single = window(target=2.0), window(target=2.0, audio_pes_bytes=0)
    for w in (grouped, single):
        w.start_publication([VIDEO, AUDIO], 0.0, 0)
        for first in range(0, len(frames), 10):
            w.feed_many(frames[first : first + 10])
    assert [(s.sequence, s.duration) for s in grouped.segments] == [
        (s.sequence, s.duration) for s in single.segments
    ]
    fewer = [audio_pes_starts(s.data) for s in grouped.segments]
    assert sum(fewer) < sum(audio_pes_starts(s.data) for s in single.segments) / 2
    # a player gets every frame back, audio at the time its place on the line implies
    assert media(grouped.segments) == media(single.segments)


@pytest.mark.anyio
async def test_a_reply_in_pieces_is_sent_piece_by_piece() -> None:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    pieces = (b"abc", memoryview(b"defg"), b"h")
    await send_reply(send, Reply(200, [(b"content-type", b"video/mp2t")], pieces))
    head, *bodies = sent
    assert head["headers"][0] == (b"content-length", b"8")
    assert [bytes(m["body"]) for m in bodies] == [b"abc", b"defg", b"h"]
    assert [m.get("more_body", False) for m in bodies] == [True, True, False]
    sent.clear()
    await send_reply(send, Reply(200, [], b"whole"))
    assert sent[0]["headers"][0] == (b"content-length", b"5")
    assert [m["body"] for m in sent[1:]] == [b"whole"]


def _live() -> LiveHLS:
    """A LiveHLS for its pause alone (no server, window or task needed)."""
    return LiveHLS.__new__(LiveHLS)


@pytest.mark.anyio
async def test_a_pause_ends_on_its_own() -> None:
    live = _live()
    live._pause = None
    started = time.monotonic()
    await live._gather(0.05)
    assert 0.04 <= time.monotonic() - started < 5
    assert live._pause is None


@pytest.mark.anyio
async def test_end_pause_ends_a_long_pause_at_once() -> None:
    live = _live()
    live._pause = None
    live.end_pause()  # no pause under way: nothing to do
    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        tg.start_soon(live._gather, 60.0)
        await anyio.sleep(0.05)
        assert live._pause is not None
        live.end_pause()
    assert time.monotonic() - started < 5
    assert live._pause is None


@pytest.mark.anyio
async def test_a_cancelled_pause_leaves_no_timer() -> None:
    live = _live()
    live._pause = None
    loop = asyncio.get_running_loop()
    with anyio.move_on_after(0.05) as scope:
        await live._gather(60.0)
    assert scope.cancelled_caught
    assert live._pause is None
    timers = getattr(loop, "_scheduled", None)  # asyncio's loop (uvloop keeps its own)
    if timers is not None:
        assert not [t for t in timers if not t.cancelled() and t.when() > loop.time() + 30]
