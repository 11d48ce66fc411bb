"""Every bundled protocol plugin names its play URLs; the API lists them on the asking host."""

from __future__ import annotations

import httpx
import pytest

from headwater import Codec, Frame, PublishRequest, Track
from headwater.testing import running_server

pytestmark = pytest.mark.anyio


async def test_the_api_lists_rtmp_rtsp_mpegts_and_hls_urls() -> None:
    protocols = ("http", "rtmp", "rtsp", "srt")
    async with running_server(protocols=protocols) as hw, httpx.AsyncClient(timeout=5) as http:
        request = PublishRequest(proto="test", path="live/cam1", peer=("127.0.0.1", 1))
        async with hw.server.publish(request) as pub:
            pub.send(Frame(Track(1, Codec.H264), 0, 0, True, nalus=(b"\x65",)))
            info = (await http.get(hw.http_url("streamer/api/v3/streams/live/cam1"))).json()
    urls = {u["proto"]: u["url"] for u in info["play_urls"]}
    http_base = f"http://127.0.0.1:{hw.port('http')}"
    assert urls == {
        "rtmp": f"rtmp://127.0.0.1:{hw.port('rtmp')}/live/cam1",
        "rtsp": f"rtsp://127.0.0.1:{hw.port('rtsp')}/live/cam1",
        "mpegts": f"{http_base}/live/cam1/mpegts",
        "hls": f"{http_base}/live/cam1/index.m3u8",
        "ll-hls": f"{http_base}/live/cam1/index.ll.m3u8",
    }  # SRT playback is not served, so SRT names no URL


async def test_a_one_segment_name_plays_over_rtmp_through_the_rtmp_application() -> None:
    config = {"streams": [{"name": "published", "inputs": [{"url": "publish://"}]}]}
    server = running_server(config, protocols=("http", "rtmp"))
    async with server as hw, httpx.AsyncClient(timeout=5) as http:
        info = (await http.get(hw.http_url("streamer/api/v3/streams/published"))).json()
    rtmp = [u["url"] for u in info["play_urls"] if u["proto"] == "rtmp"]
    assert rtmp == [f"rtmp://127.0.0.1:{hw.port('rtmp')}/rtmp/published"]
