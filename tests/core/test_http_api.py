"""The HTTP API (DESIGN §7): streams, config (live, persisted, validated), auth, pages."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from core_helpers import (
    AAC,
    PUBLISH,
    GreetPlugin,
    audio,
    core_server,
    eventually,
    greeting,
    request,
    video,
)

from headwater import hookimpl
from headwater.config import load_settings
from headwater.config.loading import PERSISTED_FILE
from headwater.http.app import build_app

API = "streamer/api/v3"

STATIC = [{"name": f"s{i}", "inputs": PUBLISH} for i in range(5)]


def client(**kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=5, **kw)


@pytest.mark.anyio
async def test_streams_are_paged_with_a_cursor() -> None:
    config = {
        "streams": STATIC,
        "templates": [{"name": "live", "prefixes": ["live"], "inputs": PUBLISH}],
    }
    async with (
        core_server(config) as hw,
        client() as http,
        hw.server.publish(request("live/a")),
        hw.server.publish(request("live/b")),
    ):
        names: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = (await http.get(hw.http_url(f"{API}/streams"), params=params)).json()
            pages += 1
            assert len(page["streams"]) <= 3
            names += [s["name"] for s in page["streams"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert names == ["live/a", "live/b", "s0", "s1", "s2", "s3", "s4"]
        assert pages == 3

        everything = (await http.get(hw.http_url(f"{API}/streams"))).json()
        assert everything["estimated_count"] == 7 and everything["next"] is None
        assert [s["name"] for s in everything["streams"]] == names
        live = {s["name"]: s["stats"]["alive"] for s in everything["streams"]}
        assert live == {n: n.startswith("live/") for n in names}

        found = (await http.get(hw.http_url(f"{API}/streams"), params={"name": "live"})).json()
        assert [s["name"] for s in found["streams"]] == ["live/a", "live/b"]

        for bad in (0, 1001, "x"):
            reply = await http.get(hw.http_url(f"{API}/streams"), params={"limit": bad})
            assert reply.status_code == 422


@pytest.mark.anyio
async def test_one_stream_with_live_stats() -> None:
    async with core_server() as hw, client() as http:
        url = hw.http_url(f"{API}/streams/live/cam1")
        assert (await http.get(url)).status_code == 404
        async with hw.server.publish(request("live/cam1", proto="rtmp")) as pub:
            for i in range(28):  # 1.12 s of video and audio: enough for a bitrate
                pub.send(video(i, size=1000))
                pub.send(audio(i, size=100))
                await anyio.sleep(0.04)
            reply = await http.get(url)
            assert reply.status_code == 200
            info = reply.json()
            stats = info["stats"]
            assert info["name"] == "live/cam1" and info["named_by"] == "user"
            assert stats["alive"] is True and stats["status"] == "running"
            assert stats["bytes_in"] == 28 * 1100 and stats["frames_in"] == 56
            assert stats["input_bitrate"] > 0
            assert stats["publisher"]["proto"] == "rtmp" and stats["publisher"]["ip"] == "127.0.0.1"
            codecs = [
                (t["codec"], t.get("width"), t.get("sample_rate"))
                for t in stats["media_info"]["tracks"]
            ]
            assert codecs == [("h264", 320, None), ("aac", None, AAC.sample_rate)]
            assert stats["opened_at"] > 0 and stats["lifetime"] >= 1000
            assert stats["online_clients"] == 0 and stats["drops"] == 0
        after = (await http.get(url)).json()["stats"]
        assert after["alive"] is False and after["input_bitrate"] == 0
        missing = await http.get(hw.http_url(f"{API}/streams/live/none"))
        assert missing.status_code == 404 and "live/none" in missing.json()["detail"]


@pytest.mark.anyio
async def test_liveness_docs_openapi_and_web_page() -> None:
    async with core_server() as hw, client() as http:
        live = (await http.get(hw.http_url(f"{API}/monitoring/liveness"))).json()
        assert live["status"] == "ok" and live["server_version"]
        docs = await http.get(hw.http_url("docs"))
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        schema = (await http.get(hw.http_url("openapi.json"))).json()
        for path in ("/streams", "/streams/{name}", "/config", "/monitoring/liveness"):
            assert f"/{API}{path}" in schema["paths"], path

        empty = await http.get(hw.http_url())
        assert empty.status_code == 200 and "No streams yet" in empty.text
        async with hw.server.publish(request("live/on-the-page")) as pub:
            pub.send(video(0))
            page = (await http.get(hw.http_url())).text
        assert "<code>live/on-the-page</code>" in page
        assert '<span class="live">live</span>' in page and "h264 320x240" in page
        assert 'http-equiv="refresh"' in page


@pytest.mark.anyio
async def test_put_merges_applies_live_and_persists(tmp_path: Path) -> None:
    config = {
        "listeners": {
            "http": [{"host": "127.0.0.1", "port": 0}],
            "greet": [{"host": "127.0.0.1", "port": 0}],
        },
        "streams": STATIC[:1],
        "templates": [{"name": "live", "prefixes": ["live"], "inputs": PUBLISH}],
    }
    async with (
        core_server(config, extra_plugins=[GreetPlugin()], data_dir=tmp_path) as hw,
        client() as http,
    ):
        server = hw.server
        before = server.listeners.addresses("greet")
        assert len(before) == 1 and await greeting(before[0]) == b"hello from greet\n"
        doc = (await http.get(hw.http_url(f"{API}/config"))).json()
        assert doc["stats"]["streams"] == 1 and doc["limits"]["max_streams"] == 10_000

        patch = {
            "limits": {"max_streams": 5},
            "listeners": {
                "greet": [{"host": "127.0.0.1", "port": 0}, {"host": "127.0.0.1", "port": 0}]
            },
            "streams": [{"name": "added", "inputs": PUBLISH}],
        }
        reply = await http.put(hw.http_url(f"{API}/config"), json=patch)
        assert reply.status_code == 200, reply.text
        after = reply.json()
        # partial: the rest is kept
        assert after["limits"]["max_streams"] == 5
        assert after["limits"]["queue_frames"] == doc["limits"]["queue_frames"]
        assert [s["name"] for s in after["streams"]] == ["s0", "added"]
        assert [t["name"] for t in after["templates"]] == ["live"]
        # applied at once: limits, static streams, listeners reopened without a restart
        assert server.settings.limits.max_streams == 5
        assert "added" in server.streams
        now = server.listeners.addresses("greet")
        assert len(now) == 2 and before[0] not in now
        for address in now:
            assert await greeting(address) == b"hello from greet\n"
        assert server.listeners.addresses("http")  # the API listener itself is untouched
        async with server.publish(request("added")) as pub:
            assert pub.name == "added"

        # the GET document, stats and all, can be PUT back: read-only fields are ignored
        again = await http.put(hw.http_url(f"{API}/config"), json=after)
        assert again.status_code == 200, again.text

    persisted = json.loads((tmp_path / PERSISTED_FILE).read_text())
    assert persisted["limits"]["max_streams"] == 5
    assert "stats" not in persisted
    # a restart (load_settings with the same data dir) keeps the changes
    restarted = load_settings(None, data_dir=tmp_path)
    assert restarted.limits.max_streams == 5
    assert sorted(s.name for s in restarted.streams) == ["added", "s0"]
    assert len(restarted.listeners["greet"]) == 2


@pytest.mark.anyio
async def test_invalid_put_changes_nothing_and_post_only_validates(tmp_path: Path) -> None:
    async with core_server(data_dir=tmp_path) as hw, client() as http:
        url = hw.http_url(f"{API}/config")
        bad = {"listeners": {"rtmp": [{"port": 99999}]}, "limits": {"dynamic_stream_ttl": "3x"}}
        expected_paths = ["listeners.rtmp.0.port", "limits.dynamic_stream_ttl"]

        reply = await http.post(url, json=bad)
        assert reply.status_code == 400
        assert reply.json()["valid"] is False
        assert [e["path"] for e in reply.json()["errors"]] == expected_paths

        reply = await http.put(url, json=bad)
        assert reply.status_code == 400
        assert [e["path"] for e in reply.json()["detail"]["errors"]] == expected_paths

        ok = await http.post(url, json={"limits": {"max_streams": 3}})
        assert ok.status_code == 200 and ok.json() == {"valid": True, "errors": [], "warnings": []}
        # neither the POST nor the failed PUT changed anything
        assert hw.server.settings.limits.max_streams == 10_000
        assert "rtmp" not in hw.server.settings.listeners
        assert not (tmp_path / PERSISTED_FILE).exists()


@pytest.mark.anyio
async def test_basic_auth_guards_writes() -> None:
    config = {"edit_auth": {"login": "admin", "password": "secret"}}
    async with core_server(config) as hw, client() as http:
        url = hw.http_url(f"{API}/config")
        body = {"limits": {"max_streams": 9}}
        for auth in (None, ("admin", "wrong"), ("root", "secret"), ("admin", "")):
            reply = await http.put(url, json=body, auth=auth)
            assert reply.status_code == 401, auth
            assert reply.headers["www-authenticate"].startswith("Basic")
        garbage = await http.put(url, json=body, headers={"authorization": "Basic !!!"})
        assert garbage.status_code == 401
        assert hw.server.settings.limits.max_streams == 10_000
        reply = await http.put(url, json=body, auth=("admin", "secret"))
        assert reply.status_code == 200 and hw.server.settings.limits.max_streams == 9
        # reading the config (it holds passwords) needs the credentials too; streams do not
        assert (await http.get(url)).status_code == 401
        assert (await http.get(url, auth=("admin", "wrong"))).status_code == 401
        document = (await http.get(url, auth=("admin", "secret"))).json()
        assert document["edit_auth"] == {"login": "admin", "password": "secret"}
        assert (await http.get(hw.http_url(f"{API}/streams"))).status_code == 200


@pytest.mark.anyio
async def test_without_edit_auth_only_loopback_may_write() -> None:
    async with core_server() as hw:
        app = build_app(hw.server)
        body = {"limits": {"max_streams": 8}}
        outside = httpx.ASGITransport(app=app, client=("203.0.113.5", 1234))
        async with httpx.AsyncClient(transport=outside, base_url="http://hw") as http:
            reply = await http.put(f"/{API}/config", json=body)
            assert reply.status_code == 403 and "loopback" in reply.json()["detail"]
            assert (await http.get(f"/{API}/config")).status_code == 403
            assert (await http.get(f"/{API}/streams")).status_code == 200
            # validate-only POST is open to all
            assert (await http.post(f"/{API}/config", json=body)).status_code == 200
        assert hw.server.settings.limits.max_streams == 10_000
        for host in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            inside = httpx.ASGITransport(app=app, client=(host, 1234))
            async with httpx.AsyncClient(transport=inside, base_url="http://hw") as http:
                reply = await http.put(f"/{API}/config", json=body)
                assert reply.status_code == 200, (host, reply.text)


@pytest.mark.anyio
async def test_with_edit_auth_remote_clients_may_write_with_credentials() -> None:
    async with core_server({"edit_auth": {"login": "a", "password": "b"}}) as hw:
        outside = httpx.ASGITransport(app=build_app(hw.server), client=("203.0.113.5", 1234))
        async with httpx.AsyncClient(transport=outside, base_url="http://hw") as http:
            assert (await http.put(f"/{API}/config", json={})).status_code == 401
            reply = await http.put(f"/{API}/config", json={}, auth=("a", "b"))
            assert reply.status_code == 200


@pytest.mark.anyio
async def test_reopening_the_http_listener_through_the_api() -> None:
    async with core_server() as hw, client() as http:
        old = hw.server.listeners.addresses("http")
        patch = {
            "listeners": {
                "http": [{"host": "127.0.0.1", "port": 0}, {"host": "127.0.0.1", "port": 0}]
            }
        }
        reply = await http.put(hw.http_url(f"{API}/config"), json=patch)
        assert reply.status_code == 200
        await eventually(lambda: len(hw.server.listeners.addresses("http")) == 2)
        new = hw.server.listeners.addresses("http")
        assert old[0] not in new
        for host, port in new:
            live = await http.get(f"http://{host}:{port}/{API}/monitoring/liveness")
            assert live.status_code == 200


@pytest.mark.anyio
async def test_a_removal_through_the_api_survives_a_restart(tmp_path: Path) -> None:
    file = tmp_path / "headwater.toml"
    file.write_text(
        '[[streams]]\nname = "s0"\ninputs = [{ url = "publish://" }]\n'
        '[[streams]]\nname = "s1"\ninputs = [{ url = "publish://" }]\n'
    )
    config = load_settings(file, data_dir=tmp_path).model_dump(mode="json", exclude={"listeners"})
    async with core_server(config, data_dir=tmp_path) as hw, client() as http:
        url = hw.http_url(f"{API}/config")
        reply = await http.put(url, json={"streams": [{"name": "s0", "remove": True}]})
        assert [s["name"] for s in reply.json()["streams"]] == ["s1"]
        reply = await http.put(url, json={"streams": [{"name": "s2", "inputs": PUBLISH}]})
        assert [s["name"] for s in reply.json()["streams"]] == ["s1", "s2"]
        assert "s0" not in hw.server.streams
    # regression: the persisted change used to be `"streams": []`, wiping s1 at the restart
    restarted = load_settings(file, data_dir=tmp_path)
    assert [s.name for s in restarted.streams] == ["s1", "s2"]


@pytest.mark.anyio
async def test_a_listener_that_cannot_open_rolls_the_change_back(tmp_path: Path) -> None:
    config = {
        "listeners": {
            "http": [{"host": "127.0.0.1", "port": 0}],
            "greet": [{"host": "127.0.0.1", "port": 0}],
        }
    }
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        async with (
            core_server(config, extra_plugins=[GreetPlugin()], data_dir=tmp_path) as hw,
            client() as http,
        ):
            patch = {
                "listeners": {"greet": [{"host": "127.0.0.1", "port": port}]},
                "limits": {"max_streams": 3},
            }
            reply = await http.put(hw.http_url(f"{API}/config"), json=patch)
            assert reply.status_code == 400
            assert reply.json()["detail"]["errors"][0]["path"] == "listeners"
            assert "in use" in reply.json()["detail"]["errors"][0]["message"]
            # the previous settings are back, and a greet listener answers again
            assert hw.server.settings.limits.max_streams == 10_000
            assert [e.port for e in hw.server.settings.listeners["greet"]] == [0]
            (address,) = hw.server.listeners.addresses("greet")
            assert await greeting(address) == b"hello from greet\n"
    assert not (tmp_path / PERSISTED_FILE).exists()


class StatsPlugin:
    """Adds to stats through ``stream_info`` and a route under the API prefix."""

    @hookimpl
    def stream_info(self, server: Any, stream: Any) -> dict[str, Any] | None:
        return {"extra_info": stream.name.upper()} if stream.name.startswith("live/") else None

    @hookimpl
    def http_routes(self, server: Any) -> list[Any]:
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        async def sub(request: Any) -> PlainTextResponse:
            return PlainTextResponse(f"sub of {request.path_params['name']}")

        return [Route(f"/{API}/streams/{{name:path}}/sub", sub)]


@pytest.mark.anyio
async def test_plugins_add_stats_and_stream_sub_resources() -> None:
    """``stream_info`` results appear in ``stats`` (list and single stream); a plugin route
    below ``/streams/{name}`` is not swallowed by the core's own."""
    async with (
        core_server(extra_plugins=[StatsPlugin()]) as hw,
        client() as http,
        hw.server.publish(request("live/cam1")),
    ):
        one = (await http.get(hw.http_url(f"{API}/streams/live/cam1"))).json()
        assert one["stats"]["extra_info"] == "LIVE/CAM1"
        listed = (await http.get(hw.http_url(f"{API}/streams"))).json()["streams"]
        assert listed[0]["stats"]["extra_info"] == "LIVE/CAM1"
        sub = await http.get(hw.http_url(f"{API}/streams/live/cam1/sub"))
        assert sub.text == "sub of live/cam1"
