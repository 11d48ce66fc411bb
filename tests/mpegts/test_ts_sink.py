"""The HTTP MPEG-TS body sink (issue 14): each read's bytes demuxed from the connection's
callback and handed over with one ``send_many``; reading paused until the shared tick
after a small read; the end, a stop, a demux fault; the route's wait with its idle timeout.

No sockets: a recording tap, tick and publication. Frames must equal, byte for byte, what
the ``receive()`` pump (the path under other ASGI servers) publishes from the same body.
"""

from __future__ import annotations

import asyncio

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ts_helpers import split

from headwater import Frame, SharedTick
from headwater.media.mpegts import TSReader
from headwater_mpegts.http_publish import _Body, _pump, _sink_body, _tick
from headwater_mpegts.ts_sink import SINK_BATCH_BYTES, TSBodySink

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"  # the HTTP server (and the sink's tick) run on asyncio only


class Tap:
    """Notes pauses, resumes and aborts."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")

    def abort(self) -> None:
        self.calls.append("abort")

    def release(self) -> None:
        self.calls.append("release")


class Tick:
    """Keeps what waits for the next tick."""

    def __init__(self) -> None:
        self.due: dict = {}

    def at_next(self, key, callback) -> None:
        self.due[key] = callback

    def cancel(self, key) -> None:
        self.due.pop(key, None)


class Recorder:
    """A publication that keeps what it is sent, batch by batch."""

    def __init__(self) -> None:
        self.batches: list[list[Frame]] = []
        self.frames: list[Frame] = []
        self.bytes = 0
        self.stop_reason: str | None = None

    def send(self, frame: Frame) -> None:  # the receive() pump's way
        self.frames.append(frame)

    def send_many(self, frames: list[Frame]) -> None:
        assert frames and all(type(f) is Frame for f in frames)
        self.batches.append(frames)
        self.frames.extend(frames)

    def add_bytes(self, count: int) -> None:
        self.bytes += count


def exact(frames: list[Frame]) -> list[tuple]:
    return [(f.track.id, f.pts, f.dts, f.keyframe, f.size, f.nalus, bytes(f.data))
            for f in frames]  # fmt: skip


def through_sink(pieces: list[bytes], tick=None) -> tuple[TSBodySink, Recorder, Tap]:
    reader, publication, tap = TSReader(), Recorder(), Tap()
    sink = TSBodySink(reader, publication, lambda: 0.0, tick, label="live/t from 10.0.0.1")
    sink.attach(tap)
    for piece in pieces:
        sink.body_received(piece)
    sink.body_ended("body ended")
    publication.frames.extend(e for e in reader.flush() if type(e) is Frame)
    return sink, publication, tap


async def through_pump(pieces: list[bytes]) -> Recorder:
    """The ``receive()`` path: the same pieces as ASGI messages."""
    queue = list(pieces)

    async def receive() -> dict:
        piece = queue.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(queue)}

    reader, publication = TSReader(), Recorder()
    await _pump(_Body(receive), reader, publication, 5.0)
    publication.frames.extend(e for e in reader.flush() if type(e) is Frame)
    return publication


@pytest.mark.parametrize(
    "sizes",
    [[188], [1316], [55_000], [7, 1000, 188 * 7 + 3], [SINK_BATCH_BYTES + 5, 17], [10**7]],
)
async def test_frames_equal_the_receive_pumps_byte_for_byte(ts_clip, sizes) -> None:
    data = ts_clip("h264", "aac")
    pieces = split(data, sizes)
    sink, publication, _ = through_sink(pieces)
    old = await through_pump(pieces)
    assert exact(publication.frames) == exact(old.frames) and old.frames
    assert publication.bytes == old.bytes == len(data)
    assert sink.reads == len(pieces) and sink.ended == "body ended"
    # one send_many per read that completed frames, never an empty one
    assert len(publication.batches) <= len(pieces)


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 70_000), min_size=1, max_size=6))
def test_any_split_of_an_h265_body_gives_the_same_frames(ts_clip_h265, sizes) -> None:
    pieces = split(ts_clip_h265, sizes)
    _, publication, _ = through_sink(pieces)
    old = asyncio.run(through_pump(pieces))
    assert exact(publication.frames) == exact(old.frames)


@pytest.fixture(scope="module")
def ts_clip_h265(test_media) -> bytes:
    return test_media("h265", "aac", "ts", seconds=1.0, size="160x120").read_bytes()


@pytest.mark.parametrize(
    ("size", "pauses"),
    [(1, True), (188, True), (SINK_BATCH_BYTES - 1, True), (SINK_BATCH_BYTES, False),
     (SINK_BATCH_BYTES * 2, False)],
)  # fmt: skip
def test_a_small_read_pauses_until_the_tick_a_big_one_does_not(size, pauses) -> None:
    tick, tap = Tick(), Tap()
    sink = TSBodySink(TSReader(), Recorder(), lambda: 0.0, tick)  # type: ignore[arg-type]
    sink.attach(tap)
    sink.body_received(bytes(size))
    assert tap.calls == (["pause"] if pauses else [])
    assert (sink in tick.due) == pauses
    if pauses:
        tick.due.pop(sink)()  # the tick resumes it
        assert tap.calls == ["pause", "resume"]


def test_without_a_tick_reads_are_never_paused(ts_clip) -> None:
    _, publication, tap = through_sink(split(ts_clip("h264", "aac"), [500]), tick=None)
    assert tap.calls == [] and publication.frames


def test_the_end_comes_once_and_stops_the_tick() -> None:
    tick, ends = Tick(), []
    sink = TSBodySink(TSReader(), Recorder(), lambda: 0.0, tick, on_end=lambda: ends.append(1))
    sink.attach(Tap())
    sink.body_received(b"\x47" + bytes(187))
    assert sink in tick.due
    sink.body_ended("client left")
    sink.body_ended("body ended")
    assert sink.ended == "client left" and ends == [1] and sink not in tick.due


def test_a_stopped_publication_gets_nothing_more(ts_clip) -> None:
    data = ts_clip("h264", "aac")
    publication = Recorder()
    sink = TSBodySink(TSReader(), publication, lambda: 0.0)
    sink.attach(Tap())
    sink.body_received(data[: len(data) // 2])
    sent, counted = len(publication.frames), publication.bytes
    publication.stop_reason = "kicked"
    sink.body_received(data[len(data) // 2 :])
    assert len(publication.frames) == sent and publication.bytes == counted


def test_last_is_the_clock_of_the_last_read() -> None:
    now = [1.0]
    sink = TSBodySink(TSReader(), Recorder(), lambda: now[0])
    assert sink.last == 1.0
    now[0] = 7.5
    sink.body_received(bytes(188))
    assert sink.last == 7.5


def test_a_demux_fault_closes_this_client_with_a_log_line(caplog) -> None:
    caplog.set_level("ERROR", "headwater.mpegts")

    class Broken(TSReader):
        def feed(self, data):  # type: ignore[override]
            raise ValueError("bad state")

    ends: list[int] = []
    tap, tick = Tap(), Tick()
    sink = TSBodySink(
        Broken(), Recorder(), lambda: 0.0, tick, lambda: ends.append(1), "live/b from 1.2.3.4"
    )
    sink.attach(tap)
    sink.body_received(bytes(188))
    assert tap.calls == ["abort"] and ends == [1] and sink.failed
    assert sink.ended == "demux failed: ValueError: bad state"
    assert any("live/b from 1.2.3.4: closing the HTTP MPEG-TS publisher" in r.getMessage()
               and "bad state" in r.getMessage() for r in caplog.records)  # fmt: skip
    sink.body_received(bytes(188))  # nothing more once ended
    assert tap.calls == ["abort"]


# -- the route's wait --------------------------------------------------------------------


def taker(script):
    """A ``headwater.body_sink`` stand-in: registers the sink, runs ``script(sink)`` soon."""
    taps: list[Tap] = []

    def take(sink: TSBodySink) -> Tap:
        tap = Tap()
        taps.append(tap)
        asyncio.get_running_loop().call_soon(script, sink)
        return tap

    return take, taps


async def test_the_wait_ends_with_the_body() -> None:
    take, taps = taker(lambda sink: sink.body_ended("body ended"))
    sink = TSBodySink(TSReader(), Recorder(), asyncio.get_running_loop().time)
    assert await _sink_body(take, sink, 5.0) == "body ended"
    assert taps[0].calls == ["release"]


async def test_a_silent_body_ends_at_the_idle_timeout() -> None:
    def trickle(sink: TSBodySink) -> None:
        sink.body_received(bytes(188))  # one read, then silence

    take, taps = taker(trickle)
    sink = TSBodySink(TSReader(), Recorder(), asyncio.get_running_loop().time)
    start = asyncio.get_running_loop().time()
    assert await _sink_body(take, sink, 0.2) == "no data for 0.2 s"
    assert 0.19 <= asyncio.get_running_loop().time() - start < 2
    assert taps[0].calls[-1] == "release"


async def test_reads_keep_a_body_alive_past_the_idle_timeout() -> None:
    loop = asyncio.get_running_loop()

    def feed(sink: TSBodySink, left: int = 6) -> None:
        if left:
            sink.body_received(bytes(188))
            loop.call_later(0.05, feed, sink, left - 1)
        else:
            sink.body_ended("body ended")

    take, _ = taker(feed)
    sink = TSBodySink(TSReader(), Recorder(), loop.time)
    assert await _sink_body(take, sink, 0.12) == "body ended"


async def test_a_stopped_publication_cancels_the_wait_and_releases_the_body() -> None:
    take, taps = taker(lambda sink: None)
    tick = Tick()
    sink = TSBodySink(TSReader(), Recorder(), asyncio.get_running_loop().time, tick)
    with anyio.CancelScope() as scope:
        asyncio.get_running_loop().call_later(0.05, scope.cancel)
        await _sink_body(take, sink, 5.0)
    assert scope.cancelled_caught and taps[0].calls == ["release"]
    assert sink not in tick.due


async def test_a_server_shares_one_tick_per_interval() -> None:
    ticks: dict[float, SharedTick] = {}
    assert _tick(ticks, 0.1) is _tick(ticks, 0.1) is ticks[0.1]
    assert _tick(ticks, 0.0) is None and _tick(None, 0.05) is not None


def test_a_read_of_framing_only_pauses_and_is_not_activity() -> None:
    now = [1.0]
    tick, tap, publication = Tick(), Tap(), Recorder()
    sink = TSBodySink(TSReader(), publication, lambda: now[0], tick)  # type: ignore[arg-type]
    sink.attach(tap)
    now[0] = 2.0
    sink.body_received(b"")
    assert tap.calls == ["pause"] and sink in tick.due
    assert sink.last == 1.0 and sink.reads == 0 and publication.bytes == 0


async def test_a_fault_in_the_bytes_held_before_the_sink_closes_the_client() -> None:
    class Broken(TSReader):
        def feed(self, data):  # type: ignore[override]
            raise ValueError("bad state")

    taps: list[Tap] = []

    def take(sink: TSBodySink) -> Tap:
        sink.body_received(bytes(188))  # what the server held, before the tap comes back
        tap = Tap()
        taps.append(tap)
        return tap

    sink = TSBodySink(Broken(), Recorder(), asyncio.get_running_loop().time)
    assert await _sink_body(take, sink, 5.0) == "demux failed: ValueError: bad state"
    assert taps[0].calls == ["abort", "release"]
