"""The HTTP MPEG-TS publish pump reads its body in batches (issue 14): after a small read it
pauses the connection for ``read_interval``, after a big one it reads on at once, and every
byte reaches the demuxer in order whatever the split. No sockets: a scripted ASGI
``receive`` and a recording publication."""

from __future__ import annotations

import asyncio

import pytest
from ts_helpers import split

from headwater import Frame
from headwater.media.mpegts import TSReader
from headwater_mpegts.http_publish import BATCH_BYTES, _Body, _probe, _pump

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"  # the pump sleeps with asyncio's own sleep, as the HTTP server runs on it


class Script:
    """An ASGI ``receive`` that hands out ``pieces`` (then the end or a disconnect) and notes
    when each was taken and whether reading was paused before it."""

    def __init__(self, pieces: list[bytes], end: str = "body") -> None:
        self.pieces = list(pieces)
        self.end = end
        self.paused = False
        self.log: list[tuple[int, bool]] = []
        """(size of the piece handed out, whether reading was paused before the call)."""

    def pause(self) -> None:
        self.paused = True

    async def receive(self) -> dict:
        was_paused, self.paused = self.paused, False  # receive() resumes reading
        if not self.pieces:
            if self.end == "disconnect":
                return {"type": "http.disconnect"}
            await asyncio.sleep(3600)
        piece = self.pieces.pop(0)
        self.log.append((len(piece), was_paused))
        more = bool(self.pieces) or self.end != "body"
        return {"type": "http.request", "body": piece, "more_body": more}


class Recorder:
    """A publication that keeps what it is sent."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.bytes = 0

    def send(self, frame: Frame) -> None:
        self.frames.append(frame)

    def add_bytes(self, count: int) -> None:
        self.bytes += count


def frames_of(data: bytes) -> list[tuple]:
    reader = TSReader()
    events = reader.feed(data) + reader.flush()
    return [(f.track.id, f.pts, f.dts, f.keyframe, f.nalus, f.data) for f in events
            if type(f) is Frame]  # fmt: skip


async def pump(script: Script, interval: float) -> tuple[str, Recorder, TSReader]:
    reader, publication = TSReader(), Recorder()
    ended = await _pump(_Body(script.receive), reader, publication, 5.0, interval, script.pause)
    for event in reader.flush():
        if type(event) is Frame:
            publication.send(event)
    return ended, publication, reader


async def test_small_reads_pause_big_reads_do_not_and_every_frame_arrives(ts_clip, monkeypatch):
    data = ts_clip("h264", "aac")
    pieces = split(data, [1000, 3 * 188, BATCH_BYTES, 17, 20_000])
    script = Script(pieces)
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("headwater_mpegts.http_publish.sleep", sleep)
    ended, publication, _ = await pump(script, 0.002)
    assert ended == "body ended"
    assert publication.bytes == len(data)
    got = [(f.track.id, f.pts, f.dts, f.keyframe, f.nalus, f.data) for f in publication.frames]
    assert got == frames_of(data)
    # reading was paused before a read exactly when the read before it was small
    for (size, _), (_, paused) in zip(script.log, script.log[1:], strict=False):
        assert paused == (size < BATCH_BYTES)
    small = sum(size < BATCH_BYTES for size, _ in script.log[:-1])
    assert slept == [0.002] * small  # one wait of the interval after each small read


async def test_interval_zero_reads_at_once(ts_clip):
    data = ts_clip("h264", "aac")
    script = Script(split(data, [1316]))
    ended, publication, _ = await pump(script, 0.0)
    assert ended == "body ended" and publication.bytes == len(data)
    assert not any(paused for _, paused in script.log)


async def test_a_client_that_leaves_ends_the_pump(ts_clip):
    data = ts_clip("h264", "aac")
    script = Script(split(data, [5000]), end="disconnect")
    ended, publication, _ = await pump(script, 0.001)
    assert ended == "client left" and publication.bytes == len(data)


async def test_a_silent_body_ends_at_the_idle_timeout(ts_clip):
    script = Script([ts_clip("h264", None)[:1880]], end="silence")
    reader, publication = TSReader(), Recorder()
    ended = await _pump(_Body(script.receive), reader, publication, 0.2, 0.01, script.pause)
    assert ended == "no data for 0.2 s"


async def test_probe_keeps_the_end_of_a_body_that_came_whole(ts_clip):
    """A whole body in one message (more_body false) is probed and not read again."""
    data = ts_clip("h264", "aac")
    body = _Body(Script([b"junk" + data]).receive)
    head, problem = await _probe(body, 5.0)
    assert problem is None and head == data and body.ended == "body ended"
    assert await body.next() == b""
