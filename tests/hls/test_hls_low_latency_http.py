"""Low-latency HLS over HTTP with the real server: blocking reload, preload hints, refusals.

Synthetic frames (25 fps, a keyframe a second, with AAC) go through the real publish path;
with 1 s segments and 0.5 s parts, a segment is three parts (12 + 12 + 1 frames), and a
part closes when the frame after it arrives, so each test knows exactly which frame makes
which part exist. The first playlist answer waits for a whole segment (players that ignore
parts need one): the cached group of pictures 25..49, closed by keyframe 50.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from headwater.media.frames import Codec, Track
from headwater.testing import running_server
from headwater_hls.plugin import hub_of

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
sys.path.insert(0, str(Path(__file__).parent))
from core_helpers import audio, request, video
from test_hls_http import ask_while_sending, send

pytestmark = pytest.mark.anyio

CONFIG = {"hls": {"segment_duration": 1, "segment_count": 3, "part_duration": 0.5, "hls_idle": 30}}


async def started(hw, http: httpx.AsyncClient, pub) -> str:
    """Start the stream's low-latency HLS: frames 0..54 sent; segment 25..49 is whole, the
    next one (from keyframe 50) has no closed part yet."""
    await send(pub, 0, 30)
    reply = await ask_while_sending(http, hw.http_url("live/cam/mono.ll.m3u8"), pub, 30, 25)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert reply.headers["cache-control"] == "no-cache"
    return reply.text


async def test_a_blocking_reload_returns_once_its_part_exists() -> None:
    async with (
        running_server(CONFIG, protocols=("http",)) as hw,
        httpx.AsyncClient(timeout=10) as http,
        hw.server.publish(request("live/cam")) as pub,
    ):
        text = await started(hw, http, pub)
        msn = int(re.search(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)$", text, re.M).group(1))
        assert text.count("#EXTINF") == 1 and text.count("#EXT-X-PART:") == 3  # 12 + 12 + 1
        url = hw.http_url(f"live/cam/mono.ll.m3u8?_HLS_msn={msn + 1}&_HLS_part=0")
        answers: list[tuple[float, httpx.Response]] = []

        async def ask() -> None:
            reply = await http.get(url)
            answers.append((time.monotonic(), reply))

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            await send(pub, 55, 7)  # segment msn+1 started at keyframe 50; its part 0 is open
            await anyio.sleep(0.3)
            assert not answers, "answered before the part existed"
            sent = time.monotonic()
            await send(pub, 62, 1)  # frame 62 closes part 0 (50..61)
        ((at, reply),) = answers
        assert reply.status_code == 200, reply.text
        assert at - sent < 1.0, "the held request was answered late"
        assert f"ll-{msn}.m4s" in reply.text  # segment msn is complete now
        after = reply.text.split(f"ll-{msn}.m4s")[1]
        assert re.search(
            r'^#EXT-X-PART:DURATION=0\.480,URI="ll-part-\d+\.m4s",INDEPENDENT=YES$', after, re.M
        )
        # asking for what exists already answers at once
        started_at = time.monotonic()
        again = await http.get(hw.http_url(f"live/cam/mono.ll.m3u8?_HLS_msn={msn}&_HLS_part=1"))
        assert again.status_code == 200 and time.monotonic() - started_at < 0.5


async def test_blocking_reload_refusals_and_timeout() -> None:
    async with (
        running_server(CONFIG, protocols=("http",)) as hw,
        httpx.AsyncClient(timeout=10) as http,
        hw.server.publish(request("live/cam")) as pub,
    ):
        text = await started(hw, http, pub)
        msn = int(re.search(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)$", text, re.M).group(1))
        base = hw.http_url("live/cam/mono.ll.m3u8")
        for query, reason in [
            (f"_HLS_msn={msn + 3}", "more than two segments past the newest"),
            ("_HLS_part=1", "_HLS_part needs _HLS_msn"),
            ("_HLS_msn=x1", "whole numbers"),
            (f"_HLS_msn={msn}&_HLS_part=-1", "whole numbers"),
            (f"_HLS_msn={msn}&_HLS_part=9", "more than 6 parts past the newest"),
            (f"_HLS_msn={msn + 1}&_HLS_part=6", "more than 6 parts past the newest"),
        ]:
            reply = await http.get(f"{base}?{query}")
            assert reply.status_code == 400, query
            assert reason in reply.text and "live/cam" in reply.text
        started_at = time.monotonic()
        late = await http.get(f"{base}?_HLS_msn={msn + 2}")  # allowed, but nothing comes
        waited = time.monotonic() - started_at
        assert late.status_code == 503 and f"part {msn + 2} not ready in 3s" in late.text
        assert 2.9 < waited < 5


async def test_the_preload_hint_part_is_held_until_it_exists() -> None:
    async with (
        running_server(CONFIG, protocols=("http",)) as hw,
        httpx.AsyncClient(timeout=10) as http,
        hw.server.publish(request("live/cam")) as pub,
    ):
        text = await started(hw, http, pub)
        hint = re.search(r'^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(ll-part-(\d+)\.m4s)"$', text, re.M)
        assert hint, text
        number = int(hint.group(2))
        beyond = await http.get(hw.http_url(f"live/cam/ll-part-{number + 1}.m4s"))
        assert beyond.status_code == 404  # only the next part is waited for
        answers: list[httpx.Response] = []

        async def ask() -> None:
            answers.append(await http.get(hw.http_url(f"live/cam/{hint.group(1)}")))

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            await anyio.sleep(0.3)
            assert not answers
            await send(pub, 55, 8)  # frame 62 closes the hinted part (50..61)
        (part,) = answers
        assert part.status_code == 200
        assert part.headers["content-type"] == "video/mp4"
        assert "max-age" in part.headers["cache-control"]
        assert part.content[4:8] == b"moof"
        init_uri = re.search(r'#EXT-X-MAP:URI="(.+)"', text).group(1)
        init = await http.get(hw.http_url(f"live/cam/{init_uri}"))
        assert init.status_code == 200 and init.content[4:8] == b"ftyp"
        assert (await http.get(hw.http_url("live/cam/ll-init-99.mp4"))).status_code == 404


async def test_low_latency_hls_is_lazy_and_stops_when_idle() -> None:
    config = {"hls": {**CONFIG["hls"], "hls_idle": 1}}
    async with running_server(config, protocols=("http",)) as hw, httpx.AsyncClient() as http:
        hub = hub_of(hw.server)
        async with hw.server.publish(request("live/cam")) as pub:
            await send(pub, 0, 30)
            assert hub.running == {}
            master = await ask_while_sending(
                http, hw.http_url("live/cam/index.ll.m3u8"), pub, 30, 25
            )
            assert master.status_code == 200
            assert 'CODECS="avc1.42c00b,mp4a.40.2"' in master.text
            assert set(hub.running) == {("live/cam", "ll")}
            selected = await ask_while_sending(
                http, hw.http_url("live/cam/tracks-a1/index.ll.m3u8"), pub, 55, 30
            )
            assert 'CODECS="mp4a.40.2"' in selected.text
            assert ("live/cam", "ll/tracks-a1") in hub.running
            await anyio.sleep(1.6)
            assert hub.running == {}


async def test_streams_without_a_carried_codec_are_refused() -> None:
    mp3 = Track(2, Codec.MP3)
    async with (
        running_server(CONFIG, protocols=("http",)) as hw,
        httpx.AsyncClient() as http,
        hw.server.publish(request("live/cam")) as pub,
    ):
        for i in range(40):
            pub.send(video(i))
            pub.send(audio(i, track=mp3))
        reply = await http.get(hw.http_url("live/cam/tracks-a1/mono.ll.m3u8"))
        assert reply.status_code == 404
        assert "low-latency HLS carries H.264, H.265 and AAC; stream has mp3" in reply.text
        for path in ("ll-part-1.m4s", "ll-1.m4s", "ll-init-1.mp4"):
            missing = await http.get(hw.http_url(f"live/cam/{path}"))
            assert missing.status_code == 404 and "no low-latency HLS running" in missing.text
        assert hub_of(hw.server).running == {}


async def test_a_held_request_keeps_the_hls_running_past_hls_idle() -> None:
    config = {"hls": {**CONFIG["hls"], "hls_idle": 1}}
    async with (
        running_server(config, protocols=("http",)) as hw,
        httpx.AsyncClient(timeout=10) as http,
        hw.server.publish(request("live/cam")) as pub,
    ):
        text = await started(hw, http, pub)
        msn = int(re.search(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)$", text, re.M).group(1))
        late = await http.get(hw.http_url(f"live/cam/mono.ll.m3u8?_HLS_msn={msn + 2}"))
        assert late.status_code == 503  # held 3 s, three times hls_idle
        assert ("live/cam", "ll") in hub_of(hw.server).running


async def test_delta_updates_over_http() -> None:
    """``_HLS_skip=YES`` gets the delta update of a playlist long enough to offer one,
    also on a blocking reload; a short playlist answers it whole; another value is 400."""
    config = {"hls": {**CONFIG["hls"], "segment_count": 8}}
    async with (
        running_server(config, protocols=("http",)) as hw,
        httpx.AsyncClient(timeout=10) as http,
        hw.server.publish(request("live/cam")) as pub,
    ):
        await started(hw, http, pub)
        await send(pub, 55, 250)  # ten more one-second segments
        base = hw.http_url("live/cam/mono.ll.m3u8")
        full = await http.get(base)
        assert "CAN-SKIP-UNTIL=6.000" in full.text
        msn = int(re.search(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)$", full.text, re.M).group(1))
        last = int(re.findall(r"^ll-(\d+)\.m4s$", full.text, re.M)[-1])
        for query in ("_HLS_skip=YES", "_HLS_skip=v2", f"_HLS_msn={last}&_HLS_skip=YES"):
            delta = await http.get(f"{base}?{query}")
            assert delta.status_code == 200, query
            assert delta.headers["content-type"] == "application/vnd.apple.mpegurl"
            skipped = int(re.search(r"^#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)$", delta.text, re.M)[1])
            assert f"#EXT-X-MEDIA-SEQUENCE:{msn}\n" in delta.text
            assert f"ll-{msn + skipped - 1}.m4s" not in delta.text
            assert f"ll-{msn + skipped}.m4s" in delta.text
            assert len(delta.content) < len(full.content)
        bad = await http.get(f"{base}?_HLS_skip=NO")
        assert bad.status_code == 400 and "_HLS_skip is YES or v2" in bad.text


async def test_a_short_playlist_answers_a_skip_whole() -> None:
    async with (
        running_server(CONFIG, protocols=("http",)) as hw,
        httpx.AsyncClient(timeout=10) as http,
        hw.server.publish(request("live/cam")) as pub,
    ):
        text = await started(hw, http, pub)
        assert "CAN-SKIP-UNTIL" not in text
        again = await http.get(hw.http_url("live/cam/mono.ll.m3u8?_HLS_skip=YES"))
        assert again.status_code == 200 and again.text == text
