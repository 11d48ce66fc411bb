"""Live HLS over HTTP with the real server: lazy start, idle stop, headers, refusals, republish.

Frames are synthetic and go through the real publish path, faster than real time (the
cutter goes by timestamps), so these tests take a second or two each.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest

from headwater.media.frames import Frame
from headwater.media.mpegts import TSReader
from headwater.testing import running_server
from headwater_hls.plugin import hub_of

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
from core_helpers import audio, eventually, request, video

pytestmark = pytest.mark.anyio

CONFIG = {"hls": {"segment_duration": 1, "segment_count": 3, "hls_idle": 1}}


async def send(pub, first: int, count: int) -> None:
    """Video frames ``first``..``first+count`` (25 fps, a keyframe a second) and their audio."""
    for i in range(first, first + count):
        pub.send(video(i))
        if i % 3 == 0:
            pub.send(audio(i * 3600 // 1920))
        if i % 25 == 0:
            await anyio.lowlevel.checkpoint()  # let the HLS task run


def tag(text: str, name: str) -> int:
    return int(re.search(rf"^#{name}:(\d+)$", text, re.M).group(1))


async def test_hls_is_lazy_serves_from_the_gop_cache_and_stops_when_idle() -> None:
    async with running_server(CONFIG, protocols=("http",)) as hw, httpx.AsyncClient() as http:
        hub = hub_of(hw.server)
        async with hw.server.publish(request("live/cam")) as pub:
            await send(pub, 0, 60)  # 2.4 s: the cache holds the GOP from frame 50
            await anyio.sleep(0.1)
            assert hub.running == {}, "nobody asked: no HLS runs"
            started = time.monotonic()
            # the next keyframe (75) ends the first segment
            master = await ask_while_sending(http, hw.http_url("live/cam/index.m3u8"), pub, 60, 30)
            assert time.monotonic() - started < 2
            assert master.status_code == 200
            assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
            assert master.headers["cache-control"] == "no-cache"
            assert master.headers["access-control-allow-origin"] == "*"
            assert 'CODECS="avc1.42c00b,mp4a.40.2"' in master.text
            assert "RESOLUTION=320x240" in master.text
            media = await http.get(hw.http_url("live/cam/mono.m3u8"))
            alias = await http.get(hw.http_url("live/cam/video.m3u8"))
            assert media.text == alias.text
            uris = re.findall(r"^mono-\d+\.ts$", media.text, re.M)
            assert len(uris) == 1
            segment = await http.get(hw.http_url(f"live/cam/{uris[0]}"))
            assert segment.headers["content-type"] == "video/mp2t"
            assert "max-age" in segment.headers["cache-control"]
            frames = [e for e in TSReader().feed(segment.content) if isinstance(e, Frame)]
            assert frames[0].keyframe and frames[0].nalus[-1][1:5] == (50).to_bytes(4, "big")
            assert ("live/cam", "") in hub.running
            await anyio.sleep(1.6)  # hls_idle = 1 s without a request
            assert hub.running == {}, "the idle HLS stopped"


async def test_refusals_are_404_with_a_reason() -> None:
    async with running_server(CONFIG, protocols=("http",)) as hw, httpx.AsyncClient() as http:
        for path in ("live/none/index.m3u8", "live/none/mono.m3u8", "live/none/mono-1.ts"):
            reply = await http.get(hw.http_url(path))
            assert reply.status_code == 404, path
            assert "live/none" in reply.text
            assert reply.headers["access-control-allow-origin"] == "*"
        bad = await http.get(hw.http_url("live/a%20b/index.m3u8"))
        assert bad.status_code == 400 and "live/a b" in bad.text  # the core's name check
        assert hub_of(hw.server).running == {}


async def ask_while_sending(http, url: str, pub, first: int, count: int) -> httpx.Response:
    """Request ``url`` (which starts the HLS), then send frames until the answer comes."""
    replies: list[httpx.Response] = []

    async def ask() -> None:
        replies.append(await http.get(url))

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask)
        await anyio.sleep(0.1)
        await send(pub, first, count)
    return replies[0]


async def test_republish_continues_the_playlist_after_a_discontinuity() -> None:
    config = {"hls": {**CONFIG["hls"], "hls_idle": 30}}
    async with running_server(config, protocols=("http",)) as hw, httpx.AsyncClient() as http:
        url = hw.http_url("live/cam/mono.m3u8")
        async with hw.server.publish(request("live/cam")) as pub:
            await send(pub, 0, 1)
            first = await ask_while_sending(http, url, pub, 1, 80)
            assert first.status_code == 200
        after_end = await http.get(url)  # within one playlist length: still served
        assert after_end.status_code == 200
        before = re.findall(r"^mono-(\d+)\.ts$", after_end.text, re.M)
        async with hw.server.publish(request("live/cam")) as pub:
            await anyio.sleep(0.05)  # stream_started woke the HLS: it reads from frame 0
            await send(pub, 0, 110)
            await anyio.sleep(0.2)
            again = await http.get(url)
        numbers = [int(n) for n in re.findall(r"^mono-(\d+)\.ts$", again.text, re.M)]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        assert numbers[-1] > int(before[-1])
        assert tag(again.text, "EXT-X-MEDIA-SEQUENCE") >= tag(
            after_end.text, "EXT-X-MEDIA-SEQUENCE"
        )
        assert tag(again.text, "EXT-X-DISCONTINUITY-SEQUENCE") >= tag(
            after_end.text, "EXT-X-DISCONTINUITY-SEQUENCE"
        )
        assert "#EXT-X-DISCONTINUITY\n" in again.text or tag(
            again.text, "EXT-X-DISCONTINUITY-SEQUENCE"
        ) > tag(after_end.text, "EXT-X-DISCONTINUITY-SEQUENCE")
        await anyio.sleep(3.2)  # past the linger time with the publisher gone
        assert (await http.get(url)).status_code == 404


async def test_a_restarted_hls_never_goes_back() -> None:
    async with running_server(CONFIG, protocols=("http",)) as hw, httpx.AsyncClient() as http:
        url = hw.http_url("live/cam/mono.m3u8")
        hub = hub_of(hw.server)
        seen = []
        async with hw.server.publish(request("live/cam")) as pub:
            for round_ in range(2):
                reply = await ask_while_sending(http, url, pub, round_ * 200, 100)
                seen.append(
                    (tag(reply.text, "EXT-X-MEDIA-SEQUENCE"),
                     tag(reply.text, "EXT-X-DISCONTINUITY-SEQUENCE"))
                )  # fmt: skip
                hub.running[("live/cam", "")].stop()
                await eventually(lambda: not hub.running, timeout=2)
        assert seen[1][0] > seen[0][0] and seen[1][1] > seen[0][1]


async def test_head_and_other_methods_and_the_served_bytes() -> None:
    """HEAD gets GET's head without the body; another method is 405 with ``Allow``; the
    playlist sent is the window's rendering and a segment its held bytes."""
    async with (
        running_server(CONFIG, protocols=("http",)) as hw,
        httpx.AsyncClient() as http,
        hw.server.publish(request("live/cam")) as pub,
    ):
        await send(pub, 0, 30)
        media_url = hw.http_url("live/cam/mono.m3u8")
        media = await ask_while_sending(http, media_url, pub, 30, 30)
        assert media.status_code == 200
        live = hub_of(hw.server).get("live/cam")
        assert media.content == live.window.media_playlist().encode()
        uri = re.findall(r"^mono-\d+\.ts$", media.text, re.M)[-1]
        segment = await http.get(hw.http_url(f"live/cam/{uri}"))
        assert segment.content == live.window.segment(int(uri[5:-3])).data
        for url, got in ((media_url, media), (hw.http_url(f"live/cam/{uri}"), segment)):
            head = await http.head(url)
            assert head.status_code == 200 and head.content == b""
            for key in ("content-length", "content-type", "cache-control"):
                assert head.headers[key] == got.headers[key], key
            assert int(head.headers["content-length"]) == len(got.content)
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            reply = await http.request(method, media_url)
            assert reply.status_code == 405, method
            assert reply.headers["allow"] == "GET, HEAD"
        missing = await http.head(hw.http_url("live/cam/mono-1.ts"))
        assert missing.status_code == 404 and missing.content == b""


async def test_the_last_segment_is_listed_when_the_publisher_leaves(monkeypatch) -> None:
    # 10 s segments and pauses of up to a minute between batches: the HLS sleeps about
    # 8 s after taking frame 40, so only the end of the publication (stream_stopped) can
    # make it close the last segment within the few seconds allowed here
    monkeypatch.setattr("headwater_hls.live.LONG_GATHER_SECONDS", 60.0)
    config = {"hls": {"segment_duration": 10, "segment_count": 3, "hls_idle": 30}}
    async with running_server(config, protocols=("http",)) as hw, httpx.AsyncClient() as http:
        hub = hub_of(hw.server)
        async with hw.server.publish(request("live/cam")) as pub:
            await send(pub, 0, 1)
            # the first segment (frames 0-24) closes at keyframe 25
            first = await ask_while_sending(http, hw.http_url("live/cam/mono.m3u8"), pub, 1, 40)
            assert first.status_code == 200
            live = hub.get("live/cam")
            await eventually(lambda: live._pause is not None)  # gathering towards 10 s
            assert len(live.window.segments) == 1
        await eventually(lambda: len(live.window.segments) == 2, timeout=4)
        media = await http.get(hw.http_url("live/cam/mono.m3u8"))
        last = re.findall(r"^mono-\d+\.ts$", media.text, re.M)[-1]
        segment = await http.get(hw.http_url(f"live/cam/{last}"))
        reader = TSReader()
        events = [*reader.feed(segment.content), *reader.flush()]
        video = [e for e in events if isinstance(e, Frame) and e.nalus]
        assert video[0].nalus[-1][1:5] == (25).to_bytes(4, "big")
        assert video[-1].nalus[-1][1:5] == (40).to_bytes(4, "big")


async def test_frames_after_a_quiet_spell_are_taken_at_once() -> None:
    # after a gather pause that found nothing queued the HLS waits on its subscription,
    # not in a pause, and the next frames come in at once
    config = {"hls": {**CONFIG["hls"], "hls_idle": 30}}
    async with running_server(config, protocols=("http",)) as hw, httpx.AsyncClient() as http:
        hub = hub_of(hw.server)
        async with hw.server.publish(request("live/cam")) as pub:
            await send(pub, 0, 1)
            first = await ask_while_sending(http, hw.http_url("live/cam/mono.m3u8"), pub, 1, 89)
            assert first.status_code == 200
            live = hub.get("live/cam")
            await eventually(lambda: live._pause is None, timeout=3)  # quiet: no pause
            held = len(live.window.segments)
            await anyio.sleep(0.3)
            assert live._pause is None and len(live.window.segments) == held
            started = time.monotonic()
            await send(pub, 90, 11)  # keyframe 100 closes the segment opened at 75
            await eventually(lambda: len(live.window.segments) == held + 1, timeout=2)
            assert time.monotonic() - started < 0.5
            assert live._pause is not None  # gathering again


async def test_a_failure_while_cutting_stops_that_hls_with_its_reason(monkeypatch, caplog) -> None:
    from headwater_hls.window import SegmentWindow

    calls = []
    feed_many = SegmentWindow.feed_many

    def failing(self, frames):
        calls.append(len(frames))
        if len(calls) > 1:  # the backlog goes in; the next batch fails
            raise RuntimeError("muxer broke")
        return feed_many(self, frames)

    monkeypatch.setattr(SegmentWindow, "feed_many", failing)
    config = {"hls": {**CONFIG["hls"], "hls_idle": 30}}
    async with running_server(config, protocols=("http",)) as hw, httpx.AsyncClient() as http:
        hub = hub_of(hw.server)
        async with hw.server.publish(request("live/cam")) as pub:
            await send(pub, 0, 60)
            await ask_while_sending(http, hw.http_url("live/cam/mono.m3u8"), pub, 60, 30)
            await eventually(lambda: hub.running == {}, timeout=3)
    assert "live/cam: HLS failed: RuntimeError: muxer broke" in caplog.text
