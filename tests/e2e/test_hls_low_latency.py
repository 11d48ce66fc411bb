"""End to end: ffmpeg publishes over RTMP; low-latency HLS (fMP4 parts) comes back whole.

- ffmpeg plays ``/NAME/index.ll.m3u8`` (it reads the whole fMP4 segments and the init
  segment of ``EXT-X-MAP``): its video packets (``-c copy -f framemd5``) must be a run of
  the published clip's packets, byte for byte, to the clip's very last frame, and its
  decoded audio packets a run of the clip's;
- the parts: the init segment and every part the low-latency playlist lists, joined in
  order, are a stream ffmpeg reads whose video packets are again a run of the clip's, and
  the parts marked ``INDEPENDENT=YES`` start with a keyframe;
- Flussonic's ``tracks-a1``/``tracks-v1`` URLs (MPEG-TS and low-latency) hold only the
  selected track;
- the vendored hls.js in chromium plays ``index.ll.m3u8`` in ``lowLatencyMode``, fetching
  parts with blocking playlist reloads (skipped where chromium is absent).
"""

from __future__ import annotations

import re
import subprocess
from functools import partial
from pathlib import Path

import anyio
import httpx
import pytest

from headwater.testing import ffmpeg_exe, run_ffmpeg, running_server, wait_for_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

HLS = {"hls": {"segment_duration": 1, "segment_count": 3, "part_duration": 0.3}}


def packets(source: str, *, decode: bool = False) -> dict[str, list[str]]:
    """The hashes of every packet of ``source`` by media type (``video``, ``audio``),
    copied untouched (``framemd5``; AAC without ADTS headers, so TS, FLV and MP4 compare),
    or of every decoded picture and audio frame; raises when ffmpeg reports an error (a
    part that does not decode on its own)."""
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", source]
    args += [] if decode else ["-c", "copy", "-bsf:a", "aac_adtstoasc"]  # TS: ADTS off
    args += ["-f", "framemd5", "pipe:1"]
    done = subprocess.run(args, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()[-2000:]
    kinds: dict[str, str] = {}
    out: dict[str, list[str]] = {"video": [], "audio": []}
    for line in done.stdout.decode().splitlines():
        if line.startswith("#media_type"):
            index, kind = line.split(" ", 1)[1].split(": ")
            kinds[index] = kind
        elif line[:1] != "#" and line.strip():
            row = [cell.strip() for cell in line.split(",")]
            out.setdefault(kinds[row[0]], []).append(row[5])  # side data hashes follow
    return out


def assert_run_of(got: list[str], source: list[str], at_least: int, *, to_end: bool) -> None:
    assert len(got) >= at_least, f"only {len(got)} packets came back"
    start = source.index(got[0])
    assert got == source[start : start + len(got)], "packets are not a run of the source's"
    if to_end:
        assert start + len(got) == len(source), "the end of the publication is missing"


async def test_ffmpeg_plays_low_latency_hls_of_an_rtmp_publication(test_media) -> None:
    clip = test_media("h264", "aac", "flv", seconds=3.0, size="160x120", gop=25)
    source = packets(str(clip))
    source_video, source_audio = source["video"], source["audio"]
    async with (
        running_server(HLS, protocols=("http", "rtmp")) as hw,
        anyio.create_task_group() as tg,
    ):
        url = hw.url("rtmp", "live/cam")
        tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", "-f", "flv", url])
        await wait_for_stream(hw.server, "live/cam", frames=5, timeout=15)
        master = hw.http_url("live/cam/index.ll.m3u8")
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(master)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert 'CODECS="avc1.' in response.text and "mp4a.40.2" in response.text
        assert response.text.rstrip().endswith("\nmono.ll.m3u8")
        with anyio.fail_after(30):
            got = await anyio.to_thread.run_sync(packets, master)
        video, audio = got["video"], got["audio"]
    assert_run_of(video, source_video, len(source_video) // 3, to_end=True)
    assert_run_of(audio, source_audio, len(source_audio) // 4, to_end=False)


async def test_the_parts_joined_are_the_published_video(test_media, tmp_path) -> None:
    clip = test_media("h264", "aac", "flv", seconds=10.0, size="160x120", gop=25)
    source_video = packets(str(clip))["video"]
    async with (
        running_server(HLS, protocols=("http", "rtmp")) as hw,
        anyio.create_task_group() as tg,
    ):
        url = hw.url("rtmp", "live/cam")
        publish = ["-re", "-i", str(clip), "-c", "copy", "-f", "flv", url]
        tg.start_soon(partial(run_ffmpeg, publish, check=False))  # ended below, mid-clip
        await wait_for_stream(hw.server, "live/cam", frames=5, timeout=15)
        async with httpx.AsyncClient(timeout=10) as http:
            first = await http.get(hw.http_url("live/cam/mono.ll.m3u8"))
            assert first.status_code == 200, first.text
            await anyio.sleep(2.0)  # a few parts later
            playlist = (await http.get(hw.http_url("live/cam/mono.ll.m3u8"))).text
            assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.900" in playlist
            assert "#EXT-X-PART-INF:PART-TARGET=0.300" in playlist
            assert re.search(
                r'^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="ll-part-\d+\.m4s"$', playlist, re.M
            )
            maps = re.findall(r'^#EXT-X-MAP:URI="(.+)"$', playlist, re.M)
            parts = re.findall(r'^#EXT-X-PART:DURATION=([\d.]+),URI="(.+?)"(,INDEPENDENT=YES)?$',
                               playlist, re.M)  # fmt: skip
            assert len(maps) == 1 and len(parts) >= 4
            assert all(float(d) <= 0.3 for d, _, _ in parts)
            init = await http.get(hw.http_url(f"live/cam/{maps[0]}"))
            assert init.headers["content-type"] == "video/mp4"
            joined = init.content
            independent = []
            for _, uri, flag in parts:
                reply = await http.get(hw.http_url(f"live/cam/{uri}"))
                assert reply.status_code == 200, uri
                joined += reply.content
                if flag:
                    part_file = tmp_path / f"{uri}.mp4"
                    part_file.write_bytes(init.content + reply.content)
                    independent.append(part_file)
        tg.cancel_scope.cancel()
    out = tmp_path / "parts.mp4"
    out.write_bytes(joined)
    got = packets(str(out))["video"]
    assert_run_of(got, source_video, len(parts), to_end=False)
    assert independent, "no part was marked INDEPENDENT=YES"
    for part_file in independent:  # decodes on its own: it starts with a keyframe
        pictures = packets(str(part_file), decode=True)["video"]
        assert len(pictures) == len(packets(str(part_file))["video"]) > 0


CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
HLS_JS_PLAYER = """([source]) => {
  const video = document.createElement("video");
  video.muted = true;
  document.body.appendChild(video);
  const hls = new Hls({lowLatencyMode: true});
  window.player = hls;
  hls.loadSource(source);
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
  window.errors = [];
  hls.on(Hls.Events.ERROR, (_, data) => window.errors.push(data.details));
}"""
STATE = """() => {
  const v = document.querySelector("video");
  return {time: v.currentTime, ready: v.readyState, error: v.error && v.error.message,
          errors: window.errors.slice(0, 10), buffered: v.buffered.length};
}"""
PLAYING = """([least]) => {
  const v = document.querySelector("video");
  if (!v || v.readyState < 2 || v.currentTime < least) return false;
  const date = window.player.playingDate;  // EXT-X-PROGRAM-DATE-TIME at the playhead
  const behind = date ? (Date.now() - date.getTime()) / 1000 : null;
  return [v.currentTime, v.getVideoPlaybackQuality().totalVideoFrames, behind];
}"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed")
async def test_hls_js_plays_it_in_low_latency_mode(test_media) -> None:
    """hls.js (the vendored one) in chromium, ``lowLatencyMode``: it plays, and it asked
    for parts with blocking reloads (``_HLS_msn``/``_HLS_part``)."""
    async_api = pytest.importorskip("playwright.async_api")
    clip = test_media("h264", "aac", "flv", seconds=20.0, size="320x240", gop=25)
    config = {"hls": {"segment_duration": 1, "segment_count": 4, "part_duration": 0.5}}
    async with (
        running_server(config, protocols=("http", "rtmp")) as hw,
        anyio.create_task_group() as tg,
    ):
        publish = ["-re", "-i", str(clip), "-c", "copy", "-f", "flv", hw.url("rtmp", "live/cam")]
        tg.start_soon(partial(run_ffmpeg, publish, check=False))
        await wait_for_stream(hw.server, "live/cam", frames=5, timeout=15)
        async with async_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            try:
                page = await browser.new_page()
                asked: list[str] = []
                page.on("request", lambda r: asked.append(r.url))
                # a bare page on the server's origin (the UI's pages refresh themselves)
                html = '<!doctype html><body><script src="/ui/hls.min.js"></script></body>'
                await page.route(
                    "**/ll-player.html",
                    lambda route: route.fulfill(body=html, content_type="text/html"),
                )
                await page.goto(hw.http_url("/ll-player.html"))
                await page.evaluate(HLS_JS_PLAYER, [hw.http_url("live/cam/index.ll.m3u8")])
                try:
                    handle = await page.wait_for_function(PLAYING, arg=[2.0], timeout=20_000)
                except Exception as exc:
                    state = await page.evaluate(STATE)
                    raise AssertionError(f"hls.js did not play: {state}; {asked[-8:]}") from exc
                await page.wait_for_timeout(3000)  # settled at its hold-back
                handle = await page.wait_for_function(PLAYING, arg=[2.0], timeout=5_000)
                current, frames, latency = await handle.json_value()
            finally:
                await browser.close()
        tg.cancel_scope.cancel()
    assert current >= 2.0 and frames > 25
    assert any("_HLS_msn=" in u and "_HLS_part=" in u for u in asked), "no blocking reload"
    assert any("ll-part-" in u for u in asked), "hls.js fetched no parts"
    print(f"hls.js low-latency mode: {latency:.2f} s behind the wall clock")


@pytest.mark.parametrize(
    ("path", "kinds"),
    [("tracks-a1/index.m3u8", {"audio"}), ("tracks-v1/index.ll.m3u8", {"video"})],
)
async def test_ffmpeg_plays_the_selected_tracks_only(test_media, path, kinds) -> None:
    """Flussonic's ``tracks-…`` URLs, MPEG-TS and low-latency: ffmpeg finds only the
    selected track, and its packets are a run of the published clip's."""
    clip = test_media("h264", "aac", "flv", seconds=3.0, size="160x120", gop=25)
    source = packets(str(clip))
    async with (
        running_server(HLS, protocols=("http", "rtmp")) as hw,
        anyio.create_task_group() as tg,
    ):
        url = hw.url("rtmp", "live/cam")
        tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", "-f", "flv", url])
        await wait_for_stream(hw.server, "live/cam", frames=5, timeout=15)
        with anyio.fail_after(30):
            got = await anyio.to_thread.run_sync(packets, hw.http_url(f"live/cam/{path}"))
    assert {kind for kind, hashes in got.items() if hashes} == kinds
    for kind in kinds:
        assert_run_of(got[kind], source[kind], len(source[kind]) // 4, to_end=False)
