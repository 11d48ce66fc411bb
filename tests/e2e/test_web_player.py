"""The web UI in a real browser: Debian's chromium, driven by Playwright, watches a stream.

ffmpeg publishes over RTMP; the browser opens ``/``, clicks the stream, and the page's
player (the vendored hls.js on our live HLS) must really play: ``currentTime`` advances and
the video element has decoded frames. The same for the embeddable ``/NAME/embed.html``.
Skipped where /usr/bin/chromium is absent (``.ci/run`` installs it best effort).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import anyio
import pytest

from headwater.testing import run_ffmpeg, running_server, wait_for_stream

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

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed"),
]

HLS = {"hls": {"segment_duration": 1, "segment_count": 3}}

STATE = """() => {
  const v = document.querySelector("video");
  const s = document.getElementById("player-state");
  return v ? {time: v.currentTime, ready: v.readyState, error: v.error && v.error.message,
              player: s && s.textContent} : document.body.innerText.slice(0, 300);
}"""

PLAYING = """([least]) => {
  const v = document.querySelector("video");
  if (!v || v.readyState < 2) return false;
  const q = v.getVideoPlaybackQuality();
  const ok = v.currentTime >= least && q.totalVideoFrames > 10;
  return ok ? [v.currentTime, q.totalVideoFrames] : false;
}"""


async def played(page, least: float, log: list[str]) -> tuple[float, int]:
    """Wait until the page's video has played ``least`` seconds; its time and frame count."""
    try:
        handle = await page.wait_for_function(PLAYING, arg=[least], timeout=20_000, polling=200)
    except Exception as exc:
        state = await page.evaluate(STATE)
        raise AssertionError(f"video did not play: {state}; page log: {log}") from exc
    current, frames = await handle.json_value()
    return current, frames


def watch(page) -> list[str]:
    """Console messages and failed requests of ``page``, for the failure message."""
    log: list[str] = []
    page.on("console", lambda m: log.append(f"{m.type}: {m.text[:200]}"))
    page.on("requestfailed", lambda r: log.append(f"failed: {r.url}"))
    page.on("response", lambda r: log.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return log


async def test_click_a_stream_and_watch_it_then_embed(test_media) -> None:
    async_api = pytest.importorskip("playwright.async_api")
    clip = test_media("h264", "aac", "flv", seconds=40.0, size="320x240", gop=25)
    server = running_server(HLS, protocols=("http", "rtmp"))
    async with server as hw, anyio.create_task_group() as tg:
        publish = ["-re", "-i", str(clip), "-c", "copy", "-f", "flv", hw.url("rtmp", "live/cam")]
        tg.start_soon(partial(run_ffmpeg, publish, check=False))  # the Stop button ends it
        await wait_for_stream(hw.server, "live/cam", frames=5, timeout=15)
        async with async_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            try:
                page = await browser.new_page()
                log = watch(page)
                await page.goto(hw.http_url("/"))
                await page.click("a[href='/ui/streams/live/cam']")
                await page.wait_for_url("**/ui/streams/live/cam")
                first, frames = await played(page, 1.0, log)
                later, more = await played(page, first + 1.0, log)
                assert later > first and more > frames  # the picture keeps moving
                assert await page.text_content("#state") == "live"
                assert "rtmp://" in await page.text_content("#play-urls")
                assert await page.get_attribute("#graph", "data-samples") != "0"

                embed = await browser.new_page()
                log = watch(embed)
                await embed.goto(hw.http_url("live/cam/embed.html"))
                first, frames = await played(embed, 1.0, log)
                assert frames > 10

                # Stop (loopback, no edit_auth: allowed) disconnects the publisher.
                page.on("dialog", lambda dialog: dialog.accept())
                await page.click("#stop")
                await page.wait_for_function(
                    "() => document.getElementById('stop-result').textContent === 'stopped'"
                )
                assert not hw.server.streams.get("live/cam").live
            finally:
                await browser.close()
        tg.cancel_scope.cancel()
