"""End to end: ffmpeg publishes MPEG-TS over HTTP; we play it back over HTTP, UDP and HTTP push.

Every comparison is on frames: what came back is demuxed with TSReader and must equal the
source clip's frames from a keyframe on (timestamps up to one constant shift, payloads
byte for byte).
"""

from __future__ import annotations

import itertools
import re
import socket
from pathlib import Path

import anyio
import httpx
import pytest

from headwater.media.mpegts import TracksChanged, TSReader
from headwater.testing import read_packets_async, run_ffmpeg, running_server, wait_for_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def frames_of(data: bytes) -> dict[int, list[tuple]]:
    """Per track codec: (pts, dts, keyframe, payload) of every frame in a TS buffer."""
    reader = TSReader()
    events = reader.feed(data) + reader.flush()
    out: dict[str, list[tuple]] = {}
    for e in events:
        if not isinstance(e, TracksChanged):
            payload = e.nalus or (bytes(e.data),)
            out.setdefault(e.track.codec.value, []).append((e.pts, e.dts, e.keyframe, payload))
    return out


def assert_suffix(got: dict, source: dict, min_frames: int = 10) -> None:
    """``got`` holds, per codec, a run of ``source`` frames (one timestamp shift for all).

    Video must start at a keyframe.
    """
    assert got.keys() == source.keys()
    shifts = set()
    for codec, frames in got.items():
        assert len(frames) >= min_frames, codec
        src = source[codec]
        payloads = [f[3] for f in src]
        start = payloads.index(frames[0][3])
        assert [f[3] for f in frames] == payloads[start : start + len(frames)], codec
        for ours, theirs in zip(frames, src[start:], strict=False):
            shifts.add(ours[0] - theirs[0])
            shifts.add(ours[1] - theirs[1])
            assert ours[2] == theirs[2]
        if codec in ("h264", "h265"):
            assert frames[0][2], "video must start at a keyframe"
    assert len(shifts) == 1, shifts


@pytest.fixture
def clip(test_media) -> Path:
    """A 3 s H.264 + AAC transport stream."""
    return test_media("h264", "aac", "ts", seconds=3.0, size="160x120")


async def test_ffmpeg_publishes_and_http_play_returns_the_same_frames(clip) -> None:
    """ffmpeg -re POSTs the clip; a GET during the publication gets the frames from a keyframe."""
    source = frames_of(clip.read_bytes())
    async with running_server() as hw:
        url = hw.http_url("live/x/mpegts")
        got = bytearray()
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", "-f", "mpegts", url])
            await wait_for_stream(hw.server, "live/x", frames=5)
            async with (
                httpx.AsyncClient(timeout=10) as client,
                client.stream("GET", url) as response,
            ):
                assert response.status_code == 200
                assert response.headers["content-type"] == "video/mp2t"
                async for chunk in response.aiter_bytes():
                    got += chunk
        assert len(got) % 188 == 0
        assert_suffix(frames_of(bytes(got)), source)
        stream = hw.server.streams.get("live/x")
        assert stream.stats.frames_in == sum(len(v) for v in source.values())


async def test_ffmpeg_reads_http_play(clip, tmp_path) -> None:
    """ffmpeg itself plays /NAME/mpegts: same packet timestamps as its read of the source."""
    async with running_server() as hw:
        url = hw.http_url("live/y/mpegts")
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", "-f", "mpegts", url])
            await wait_for_stream(hw.server, "live/y", frames=5)
            packets, header = await read_packets_async(url, timeout=20)
    assert header["codec_id 0"] == "h264" and header["codec_id 1"] == "aac"
    assert header["dimensions 0"] == "160x120"
    video = [p for p in packets if p.stream == 0]
    assert video[0].keyframe and len(video) >= 20
    audio = [p for p in packets if p.stream == 1]
    assert len(audio) >= 30
    assert all(b.dts > a.dts for a, b in itertools.pairwise(video))


@pytest.mark.parametrize(
    ("config", "path", "status", "words"),
    [
        ({}, "nowhere/x/mpegts", 404, "no stream or template"),
        ({}, "live/bad%20name!/mpegts", 400, ""),
        (
            {
                "templates": [
                    {
                        "name": "p",
                        "prefixes": ["p"],
                        "inputs": [{"url": "publish://"}],
                        "password": "secret",
                    }
                ]
            },
            "p/cam/mpegts?password=wrong",
            401,
            "",
        ),
    ],
)
async def test_publish_refusals(clip, config, path, status, words) -> None:
    """Refused publications answer their HTTP status with a one-line reason."""
    async with running_server(config or None) as hw, httpx.AsyncClient(timeout=10) as client:
        response = await client.post(hw.http_url(path), content=clip.read_bytes()[:18800])
    assert response.status_code == status
    assert response.text.count("\n") == 1 and words in response.text
    assert hw.server.streams.get(path.rsplit("/mpegts", 1)[0]) is None or status != 404


async def test_second_publisher_is_busy_and_unknown_play_is_404(clip) -> None:
    """A live name refuses a second publisher with 409; GET of an idle name is 404."""
    data = clip.read_bytes()

    async def slow_body():
        for i in range(0, len(data), 18800):
            yield data[i : i + 18800]
            await anyio.sleep(0.1)

    async with running_server() as hw, httpx.AsyncClient(timeout=10) as client:
        url = hw.http_url("live/busy/mpegts")
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.post(url, content=slow_body()))
            await wait_for_stream(hw.server, "live/busy", frames=3)
            second = await client.post(url, content=data[:18800])
            assert second.status_code == 409 and "already" in second.text
        idle = await client.get(hw.http_url("live/nobody/mpegts"))
        assert idle.status_code == 404


def _udp_receiver() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def test_udp_push_sends_7_packets_per_datagram(clip) -> None:
    """A static stream with a udp:// push: datagrams of 1316 bytes carrying the same frames."""
    receiver = _udp_receiver()
    port = receiver.getsockname()[1]
    config = {
        "streams": [
            {
                "name": "cam",
                "inputs": [{"url": "publish://"}],
                "pushes": [{"url": f"udp://127.0.0.1:{port}"}],
            }
        ]
    }
    datagrams: list[bytes] = []
    source = frames_of(clip.read_bytes())
    async with running_server(config) as hw:
        url = hw.http_url("cam/mpegts")
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", "-f", "mpegts", url])
            while True:
                with anyio.move_on_after(2 if datagrams else 10) as scope:
                    await anyio.wait_readable(receiver)
                    datagrams.append(receiver.recv(65536))
                if scope.cancelled_caught:
                    break
    receiver.close()
    assert datagrams and all(len(d) == 1316 for d in datagrams[:-1])
    assert_suffix(frames_of(b"".join(datagrams)), source)


async def test_http_push_republishes_to_another_server(clip) -> None:
    """An http:// push POSTs the stream to a second server, which sees the same frames."""
    source = frames_of(clip.read_bytes())
    async with running_server() as target:
        push_url = target.http_url("live/copy/mpegts")
        config = {"streams": [{"name": "src", "inputs": [{"url": "publish://"}],
                               "pushes": [{"url": push_url}]}]}  # fmt: skip
        async with running_server(config) as hw, httpx.AsyncClient(timeout=20) as client:
            got = bytearray()

            async def play() -> None:
                await wait_for_stream(target.server, "live/copy", frames=1)
                async with client.stream("GET", push_url) as response:
                    async for chunk in response.aiter_bytes():
                        got.extend(chunk)

            async with anyio.create_task_group() as tg:
                tg.start_soon(play)
                await run_ffmpeg(["-re", "-i", str(clip), "-c", "copy", "-f", "mpegts",
                                  hw.http_url("src/mpegts")])  # fmt: skip
        assert_suffix(frames_of(bytes(got)), source)


async def _open_publish(hw, name: str, first: bytes) -> anyio.abc.SocketStream:
    """A raw chunked POST to ``/{name}/mpegts`` that has sent headers and one chunk."""
    port = hw.server.listeners.of("http")[0].addresses[0][1]
    stream = await anyio.connect_tcp("127.0.0.1", port)
    head = (f"POST /{name}/mpegts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Transfer-Encoding: chunked\r\nContent-Type: video/mp2t\r\n\r\n")  # fmt: skip
    await stream.send(head.encode() + b"%x\r\n%s\r\n" % (len(first), first))
    await wait_for_stream(hw.server, name, frames=1)
    return stream


async def _gone(hw, name: str, timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        for _ in itertools.count():
            s = hw.server.streams.get(name)
            if s is None or not s.live:
                return
            await anyio.sleep(0.05)


async def test_silent_publisher_is_ended_after_the_idle_timeout(clip, caplog) -> None:
    """A publisher that stops sending mid-body gets its answer once the idle time passed."""
    caplog.set_level("INFO", "headwater")
    async with running_server({"limits": {"publish_idle_timeout": 0.5}}) as hw:
        stream = await _open_publish(hw, "live/silent", clip.read_bytes()[: 188 * 400])
        async with stream:
            with anyio.fail_after(5):
                answer = await stream.receive()
            assert answer.startswith(b"HTTP/1.1 200"), answer
            await _gone(hw, "live/silent")
    assert any(re.search(r"live/silent.*no data for 0\.5 ?s", r.getMessage())
               for r in caplog.records)  # fmt: skip


async def test_publisher_leaving_mid_body_ends_the_publication(clip, caplog) -> None:
    """The client closes its connection halfway through the body: the stream ends."""
    caplog.set_level("INFO", "headwater")
    async with running_server() as hw:
        stream = await _open_publish(hw, "live/leaver", clip.read_bytes()[: 188 * 400])
        await stream.aclose()
        await _gone(hw, "live/leaver")
    assert any("live/leaver" in r.getMessage() and "client left" in r.getMessage()
               for r in caplog.records)  # fmt: skip


async def test_body_in_many_small_chunks_arrives_whole(clip) -> None:
    """A body in chunks of 1 to 3000 bytes, many per socket write and some split across
    writes, reaches the demuxer whole and in order: every packet counted, no continuity
    error, no resync (the HTTP server keeps the pieces that arrive between two reads of
    the application and joins them once)."""
    data = clip.read_bytes()
    sizes = itertools.cycle([1, 187, 3000, 5, 1316, 2048, 77])
    chunks, pos = [], 0
    while pos < len(data):
        size = next(sizes)
        chunks.append(b"%x\r\n%s\r\n" % (len(data[pos : pos + size]), data[pos : pos + size]))
        pos += size
    wire = b"".join(chunks) + b"0\r\n\r\n"
    async with running_server() as hw:
        port = hw.server.listeners.of("http")[0].addresses[0][1]
        stream = await anyio.connect_tcp("127.0.0.1", port)
        async with stream:
            await stream.send(b"POST /live/pieces/mpegts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
            for i in range(0, len(wire), 7001):
                await stream.send(wire[i : i + 7001])
            with anyio.fail_after(10):
                answer = b""
                while b"published" not in answer:
                    answer += await stream.receive()
    text = answer.decode()
    assert f"{len(data) // 188} packets, 0 continuity errors" in text, text


async def test_publisher_stopped_by_the_server_gets_an_answer(clip, caplog) -> None:
    """The server ends the publication (as on shutdown or a config change): the client gets
    its 200 with the counts, and the log says why, not a traceback."""
    caplog.set_level("INFO", "headwater")
    async with running_server() as hw:
        stream = await _open_publish(hw, "live/stopped", clip.read_bytes()[: 188 * 400])
        async with stream:
            hw.server.publications["live/stopped"].stop("a test stops it")
            with anyio.fail_after(5):
                answer = await stream.receive()
            assert answer.startswith(b"HTTP/1.1 200"), answer
            assert b"published live/stopped: 400 packets" in answer, answer
    messages = [r.getMessage() for r in caplog.records]
    assert any("live/stopped: HTTP MPEG-TS publication ended (stopped: a test stops it"
               in m for m in messages), messages  # fmt: skip
    assert not any(r.exc_info for r in caplog.records)


async def test_a_sized_body_in_one_write_arrives_whole_through_the_sink(clip, monkeypatch) -> None:
    """A ``Content-Length`` body of about 1 MB sent in one write (reads of up to 256 KB,
    no chunked framing): after the probe, the body's sink gets the rest read by read and
    every packet is demuxed. (The reads that pile up while the publication is admitted are
    covered without sockets in tests/core/test_http_body_sink.py.)"""
    from headwater_mpegts.ts_sink import TSBodySink

    reads: list[int] = []
    original = TSBodySink.body_received

    def counting(self, data: bytes) -> None:
        reads.append(len(data))
        original(self, data)

    monkeypatch.setattr(TSBodySink, "body_received", counting)
    data = clip.read_bytes() * 6  # some 1 MB; the repeats restart timestamps, which is fine
    async with running_server() as hw:
        port = hw.server.listeners.of("http")[0].addresses[0][1]
        stream = await anyio.connect_tcp("127.0.0.1", port)
        async with stream:
            await stream.send(b"PUT /live/burst/mpegts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Content-Length: %d\r\n\r\n%s" % (len(data), data))  # fmt: skip
            with anyio.fail_after(10):
                answer = b""
                while b"published" not in answer:
                    answer += await stream.receive()
    assert f"published live/burst: {len(data) // 188} packets".encode() in answer, answer
    assert reads and sum(reads) < len(data)  # the rest came to the sink, the head by the probe
