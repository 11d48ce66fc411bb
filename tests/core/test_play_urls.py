"""The ``play_urls`` hook: sync and async implementations, the API and the web UI show them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest
from core_helpers import core_server, request, video

from headwater import PlayBase, PlayURL, hookimpl
from headwater.http import ui_stream

API = "streamer/api/v3"


class SyncPlugin:
    @hookimpl
    def play_urls(self, stream, base):
        return [PlayURL("hls", base.http_url(f"{stream.name}/index.m3u8"), "HLS")]


class AsyncPlugin:
    @hookimpl
    async def play_urls(self, server, stream, base):
        return [PlayURL("dummy", base.url("dummy", 7000, stream.name), "Dummy")]


class NonePlugin:
    @hookimpl
    def play_urls(self, stream):
        return None


@pytest.mark.parametrize(
    ("url", "host", "http"),
    [
        ("http://example.com:8080/streamer/", "example.com", "http://example.com:8080"),
        ("https://example.com/", "example.com", "https://example.com"),
        ("http://[::1]:8080/", "::1", "http://[::1]:8080"),
        ("http://127.0.0.1:18080", "127.0.0.1", "http://127.0.0.1:18080"),
    ],
)
def test_play_base_from_a_request_url(url: str, host: str, http: str) -> None:
    base = PlayBase.from_url(url)
    assert (base.host, base.http) == (host, http)


def test_play_base_urls_bracket_ipv6_and_drop_default_ports() -> None:
    v6 = PlayBase("::1", "http://[::1]:8080")
    assert v6.url("rtmp", 1935, "live/cam", default_port=1935) == "rtmp://[::1]/live/cam"
    assert v6.url("rtmp", 1936, "/live/cam") == "rtmp://[::1]:1936/live/cam"
    assert v6.http_url("/live/cam/index.m3u8") == "http://[::1]:8080/live/cam/index.m3u8"


@pytest.mark.anyio
async def test_api_and_pages_show_every_plugins_play_urls() -> None:
    plugins = [SyncPlugin(), AsyncPlugin(), NonePlugin()]
    async with core_server(extra_plugins=plugins) as hw, httpx.AsyncClient(timeout=5) as http:
        async with hw.server.publish(request("live/cam1")) as pub:
            pub.send(video(0))
            info = (await http.get(hw.http_url(f"{API}/streams/live/cam1"))).json()
            port = hw.port("http")
            hls = f"http://127.0.0.1:{port}/live/cam1/index.m3u8"
            assert sorted(info["play_urls"], key=lambda u: u["proto"]) == [
                {"proto": "dummy", "url": "dummy://127.0.0.1:7000/live/cam1", "label": "Dummy"},
                {"proto": "hls", "url": hls, "label": "HLS"},
            ]
            listing = (await http.get(hw.http_url())).text
            assert 'href="/ui/streams/live/cam1"' in listing
            page = await http.get(hw.http_url("ui/streams/live/cam1"))
            assert page.status_code == 200
            assert f'data-src="http://127.0.0.1:{port}/live/cam1/index.m3u8"' in page.text
            assert 'data-copy="dummy://127.0.0.1:7000/live/cam1"' in page.text
            embed = await http.get(hw.http_url("live/cam1/embed.html"))
            assert embed.status_code == 200 and "headwaterPlay" in embed.text
            assert "<h1" not in embed.text  # the player only
        for path in ("ui/streams/live/none", "live/none/embed.html"):
            assert (await http.get(hw.http_url(path))).status_code == 404


@pytest.mark.anyio
async def test_without_an_hls_plugin_the_page_says_so() -> None:
    async with (
        core_server() as hw,
        httpx.AsyncClient(timeout=5) as http,
        hw.server.publish(request("live/cam1")) as pub,
    ):
        pub.send(video(0))
        page = (await http.get(hw.http_url("ui/streams/live/cam1"))).text
    assert "No HLS playback is installed" in page and "<video" not in page


@pytest.mark.anyio
async def test_ui_assets_are_served_with_their_types() -> None:
    async with core_server() as hw, httpx.AsyncClient(timeout=5) as http:
        for asset, media_type in ui_stream.ASSETS.items():
            reply = await http.get(hw.http_url(f"ui/{asset}"))
            assert reply.status_code == 200, asset
            assert reply.headers["content-type"] == media_type
            assert "max-age" in reply.headers["cache-control"]
        assert (await http.get(hw.http_url("ui/other.js"))).status_code == 404


def test_vendored_hls_js_is_the_pinned_release() -> None:
    """The committed hls.min.js is byte for byte the one scripts/refresh_hls_js.py verified."""
    static = Path(ui_stream.__file__).with_name("static")
    record = json.loads((static / "hls.js.version").read_text("utf-8"))
    player = (static / "hls.min.js").read_bytes()
    assert hashlib.sha256(player).hexdigest() == record["sha256"]
    assert record["license"] == "Apache-2.0" and record["integrity"].startswith("sha512-")
    assert "Apache License" in (static / "hls.js.LICENSE").read_text("utf-8")
    assert record["version"].encode() in player  # hls.js embeds its version string


def test_refresh_script_refuses_a_tarball_whose_hash_differs() -> None:
    import base64
    import importlib.util

    path = Path(__file__).parents[2] / "scripts/refresh_hls_js.py"
    spec = importlib.util.spec_from_file_location("refresh_hls_js", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    data = b"package contents"
    good = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    script.verify_integrity(data, good)
    with pytest.raises(ValueError, match="integrity mismatch"):
        script.verify_integrity(data + b"!", good)
    with pytest.raises(ValueError, match="unsupported"):
        script.verify_integrity(data, "md5-abc")


@pytest.mark.anyio
async def test_view_auth_guards_the_stream_page_embed_and_scripts() -> None:
    config = {"view_auth": {"login": "viewer", "password": "secret"}}
    async with (
        core_server(config) as hw,
        httpx.AsyncClient(timeout=5) as http,
        hw.server.publish(request("live/cam1")) as pub,
    ):
        pub.send(video(0))
        for path in ("ui/streams/live/cam1", "live/cam1/embed.html", "ui/player.js"):
            refused = await http.get(hw.http_url(path))
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"].startswith("Basic")
            allowed = await http.get(hw.http_url(path), auth=("viewer", "secret"))
            assert allowed.status_code == 200, path
