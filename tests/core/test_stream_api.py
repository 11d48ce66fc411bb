"""Flussonic's stream API: stop, stream and template CRUD, select/sort/q, stats, view_auth,
OpenMetrics and /metrics, text/plain config, and the ``streams``/``stop`` commands."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from core_helpers import PUBLISH, audio, core_server, eventually, request, video
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as text_families
from typer.testing import CliRunner

from headwater.cli import app
from headwater.config.loading import PERSISTED_FILE

API = "streamer/api/v3"
ADMIN = ("admin", "secret")
SECURED = {
    "edit_auth": {"login": "admin", "password": "secret"},
    "streams": [{"name": "static1", "inputs": PUBLISH, "title": "Lobby camera"}],
    "templates": [{"name": "live", "prefixes": ["live"], "inputs": PUBLISH}],
}


def client(**kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=5, **kw)


async def publish_some(pub: Any, count: int = 30) -> None:
    for i in range(count):
        pub.send(video(i))
        pub.send(audio(i))
        if i % 10 == 0:
            await anyio.lowlevel.checkpoint()


@asynccontextmanager
async def publishing(hw: Any, name: str, **args: str) -> AsyncIterator[anyio.Event]:
    """Publish ``name`` (some frames, then idle) in the background; the event is set when
    the publication has ended."""
    ended = anyio.Event()

    async def publisher() -> None:
        async with hw.server.publish(request(name, **args)) as pub:
            await publish_some(pub)
            await anyio.sleep_forever()
        ended.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(publisher)
        await eventually(lambda: name in hw.server.publications)
        yield ended
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_stop_disconnects_the_publisher_and_players_with_a_logged_reason(caplog) -> None:
    caplog.set_level(logging.INFO, logger="headwater")
    async with core_server(SECURED) as hw, client() as http:
        url = hw.http_url(f"{API}/streams/live/cam/stop")
        async with publishing(hw, "live/cam") as ended:
            stream = hw.server.streams.get("live/cam")
            player = stream.open_subscription("player")
            assert (await http.post(url)).status_code == 401
            assert (await http.post(url, auth=("admin", "wrong"))).status_code == 401
            answer = await http.post(url, auth=ADMIN)
            assert answer.status_code == 204
            with anyio.fail_after(5):
                await ended.wait()
            assert player.ended and not stream.live
            info = (await http.get(hw.http_url(f"{API}/streams/live/cam"))).json()
            assert info["stats"]["status"] == "error"
            assert "stopped through the API by admin@127.0.0.1" in info["stats"]["source_error"]
            missing = await http.post(hw.http_url(f"{API}/streams/live/none/stop"), auth=ADMIN)
            assert missing.status_code == 404
    assert any("stopped through the API by admin" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_stream_crud_needs_credentials_and_persists(tmp_path: Path) -> None:
    async with core_server(SECURED, data_dir=tmp_path) as hw, client() as http:
        url = hw.http_url(f"{API}/streams/cams/door")
        body = {"inputs": PUBLISH, "password": "knock", "title": "Door"}
        assert (await http.put(url, json=body)).status_code == 401
        put = await http.put(url, json=body, auth=ADMIN)
        assert put.status_code == 200, put.text
        got = put.json()
        assert got["name"] == "cams/door" and got["title"] == "Door"
        assert got["named_by"] == "config" and "password" not in got  # secrets stay in /config
        assert hw.server.find_settings("cams/door").settings.password == "knock"
        # a second PUT merges into the stream's config
        await http.put(url, json={"title": "Front door"}, auth=ADMIN)
        assert hw.server.find_settings("cams/door").settings.password == "knock"
        assert (await http.get(url)).json()["title"] == "Front door"
        persisted = json.loads((tmp_path / PERSISTED_FILE).read_text())
        assert any(s["name"] == "cams/door" for s in persisted["streams"])
        assert (await http.delete(url)).status_code == 401
        assert (await http.delete(url, auth=ADMIN)).status_code == 204
        assert hw.server.find_settings("cams/door") is None
        assert (await http.get(url)).status_code == 404
        assert (await http.delete(url, auth=ADMIN)).status_code == 404
        bad = await http.put(url, json={"srt_publish": {"passphrase": "short"}}, auth=ADMIN)
        assert bad.status_code == 400 and "passphrase" in bad.text


@pytest.mark.anyio
async def test_template_crud_and_reads_need_credentials() -> None:
    async with core_server(SECURED) as hw, client() as http:
        base = hw.http_url(f"{API}/templates")
        assert (await http.get(base)).status_code == 401
        listed = (await http.get(base, auth=ADMIN)).json()
        assert [t["name"] for t in listed["templates"]] == ["live"]
        put = await http.put(
            f"{base}/chats",
            json={"prefixes": ["chats"], "inputs": PUBLISH, "password": "mypass"},
            auth=ADMIN,
        )
        assert put.status_code == 200 and put.json()["password"] == "mypass"
        async with hw.server.publish(request("chats/a", password="mypass")):
            pass
        clash = await http.put(f"{base}/other", json={"prefixes": ["chats"]}, auth=ADMIN)
        assert clash.status_code == 400 and "used by both" in clash.text

        async with publishing(hw, "chats/b", password="mypass"):
            assert (await http.delete(f"{base}/chats", auth=ADMIN)).status_code == 204
            with anyio.fail_after(5):
                while "chats/b" in hw.server.publications:  # noqa: ASYNC110
                    await anyio.sleep(0.02)
        assert (await http.get(f"{base}/chats", auth=ADMIN)).status_code == 404


@pytest.mark.anyio
async def test_select_sort_q_and_filters() -> None:
    config = {"streams": [{"name": f"s{i}", "inputs": PUBLISH, "title": f"T{i}"} for i in range(3)]}
    config["templates"] = [{"name": "live", "prefixes": ["live"], "inputs": PUBLISH}]
    async with (
        core_server(config) as hw,
        client() as http,
        hw.server.publish(request("live/a")) as pub,
    ):
        await publish_some(pub)
        url = hw.http_url(f"{API}/streams")
        got = (await http.get(url, params={"select": "name,stats.alive"})).json()["streams"]
        assert got[0] == {"name": "live/a", "stats": {"alive": True}}
        assert all(set(s) == {"name", "stats"} for s in got)
        order = await http.get(url, params={"sort": "-stats.bytes_in,-name", "select": "name"})
        assert [s["name"] for s in order.json()["streams"]] == ["live/a", "s2", "s1", "s0"]
        paged = (await http.get(url, params={"sort": "name", "limit": 3})).json()
        rest = (await http.get(url, params={"sort": "name", "cursor": paged["next"]})).json()
        assert [s["name"] for s in paged["streams"] + rest["streams"]] == [
            "live/a",
            "s0",
            "s1",
            "s2",
        ]
        found = (await http.get(url, params={"q": "t1"})).json()["streams"]
        assert [s["name"] for s in found] == ["s1"]
        users = (await http.get(url, params={"named_by": "user"})).json()["streams"]
        assert [s["name"] for s in users] == ["live/a"]
        alive = (await http.get(url, params={"stats.alive": "false"})).json()["streams"]
        assert [s["name"] for s in alive] == ["s0", "s1", "s2"]


@pytest.mark.anyio
async def test_flussonic_stats_fields() -> None:
    async with core_server() as hw, client() as http, hw.server.publish(request("live/a")) as pub:
        stream = hw.server.streams.get("live/a")
        player = stream.open_subscription("player")
        await publish_some(pub)
        while player.get_nowait() is not None:
            pass
        stats = (await http.get(hw.http_url(f"{API}/streams/live/a"))).json()["stats"]
        assert stats["status"] == "running" and stats["alive"]
        assert stats["last_dts"] == 29 * 1920 // 90 and 0 <= stats["ts_delay"] < 5000
        assert stats["bytes_out"] == stats["bytes_in"] > 0
        assert stats["client_count"] == stats["online_clients"] == 1
        assert stats["input"]["proto"] == "test" and stats["input"]["ip"] == "127.0.0.1"
        pub.set_input_stats(lambda: {"srt_rtt": 12.5, "srt_lost": 3})
        stats = (await http.get(hw.http_url(f"{API}/streams/live/a"))).json()["stats"]
        assert stats["input"]["srt_rtt"] == 12.5 and stats["input"]["srt_lost"] == 3


@pytest.mark.anyio
async def test_openmetrics_with_flussonic_names_parses() -> None:
    async with core_server() as hw, client() as http, hw.server.publish(request("live/a")) as pub:
        await publish_some(pub)
        url = hw.http_url(f"{API}/streams")
        for answer in (
            await http.get(url, params={"format": "openmetrics"}),
            await http.get(url, headers={"Accept": "application/openmetrics-text"}),
        ):
            assert answer.headers["content-type"].startswith("application/openmetrics-text")
            families = {f.name: f for f in text_string_to_metric_families(answer.text)}
            assert {
                "stream_bitrate",
                "stream_bytes_in",
                "stream_bytes_out",
                "stream_online_clients",
                "stream_client_count",
                "stream_out_bandwidth",
                "stream_retry_count",
            } <= set(families)
            (sample,) = [
                s for s in families["stream_bytes_in"].samples if s.name.endswith("_total")
            ]
            assert sample.labels == {"name": "live/a"}
            assert sample.value == hw.server.streams.get("live/a").stats.bytes_in


@pytest.mark.anyio
async def test_prometheus_metrics_count_streams_refusals_and_process() -> None:
    config = {
        "templates": [{"name": "live", "prefixes": ["live"], "inputs": PUBLISH, "password": "pw"}]
    }
    async with core_server(config) as hw, client() as http:
        for _ in range(2):
            with pytest.raises(Exception, match="password"):
                async with hw.server.publish(request("live/a")):
                    pass
        async with hw.server.publish(request("live/a", password="pw")) as pub:
            await publish_some(pub)
            text = (await http.get(hw.http_url("metrics"))).text
        after = (await http.get(hw.http_url("metrics"))).text
    families = {f.name: f for f in text_families(text)}
    value = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert value[("headwater_streams", (("state", "live"),))] == 1
    assert value[("headwater_publishers", (("proto", "test"),))] == 1
    assert value[("headwater_refusals_total", (("reason", "unauthorized"),))] == 2
    assert value[("headwater_stream_bytes_in_total", (("name", "live/a"),))] > 0
    assert "process_resident_memory_bytes" in families or "process_cpu_seconds" in families
    ended = {s.name: s.value for f in text_families(after) for s in f.samples if not s.labels}
    assert (
        ended["headwater_bytes_in_total"]
        == value[("headwater_stream_bytes_in_total", (("name", "live/a"),))]
    )


@pytest.mark.anyio
async def test_view_auth_guards_reads_not_liveness() -> None:
    config = {**SECURED, "view_auth": {"login": "viewer", "password": "look"}}
    async with core_server(config) as hw, client() as http:
        for path in (f"{API}/streams", f"{API}/streams/static1", "", "metrics"):
            url = hw.http_url(path)
            assert (await http.get(url)).status_code == 401, path
            assert (await http.get(url, auth=("viewer", "look"))).status_code == 200, path
            assert (await http.get(url, auth=ADMIN)).status_code == 200, path
        live = await http.get(hw.http_url(f"{API}/monitoring/liveness"))
        assert live.status_code == 200
        put = await http.put(hw.http_url(f"{API}/streams/x"), json={}, auth=("viewer", "look"))
        assert put.status_code == 401


FLUSSONIC_TEXT = """
edit_auth admin secret;
stream published {
  input publish://;
  password secure;
}
live chats {
  password mypass;
}
transcoder global;
"""


@pytest.mark.anyio
async def test_put_config_as_flussonic_text_replaces_and_post_validates(tmp_path: Path) -> None:
    async with core_server(SECURED, data_dir=tmp_path) as hw, client() as http:
        url = hw.http_url(f"{API}/config")
        text = {"Content-Type": "text/plain"}
        check = await http.post(url, content=FLUSSONIC_TEXT, headers=text)
        assert check.status_code == 200, check.text
        assert check.json()["valid"] and "transcoder" in check.json()["warnings"][0]
        assert [s.name for s in hw.server.settings.streams] == ["static1"]  # POST changed nothing
        bad = await http.post(url, content="stream x {\n  dvr /s 3x;\n}\n", headers=text)
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["path"].startswith("line 2, column 10")
        bad = await http.post(
            url, content="stream x {\n  srt_publish { passphrase short; }\n}\n", headers=text
        )
        assert "line 2, column 17" in bad.text and "passphrase" in bad.text
        put = await http.put(url, content=FLUSSONIC_TEXT, headers=text, auth=ADMIN)
        assert put.status_code == 200, put.text
        doc = put.json()
        assert [s["name"] for s in doc["streams"]] == ["published"]
        assert [t["name"] for t in doc["templates"]] == ["chats"]
        assert doc["templates"][0]["password"] == "mypass" and doc["warnings"]
        assert doc["listeners"]["http"]  # a text without `http` keeps the API reachable
        assert (await http.get(hw.http_url(f"{API}/streams"))).status_code == 200
        async with hw.server.publish(request("chats/a", password="mypass")):
            pass
        with pytest.raises(Exception, match="no stream or template"):
            async with hw.server.publish(request("live/a")):
                pass
    restarted = json.loads((tmp_path / PERSISTED_FILE).read_text())
    names = [(s["name"], bool(s.get("remove"))) for s in restarted["templates"]]
    assert ("live", True) in names and ("chats", False) in names


@pytest.mark.anyio
async def test_streams_and_stop_commands(tmp_path: Path) -> None:
    async with core_server(SECURED) as hw:
        base = hw.http_url("")
        async with publishing(hw, "live/cam") as ended:
            runner = CliRunner()
            listed = await anyio.to_thread.run_sync(
                lambda: runner.invoke(app, ["streams", "--url", base])
            )
            assert listed.exit_code == 0, listed.output
            assert "live/cam" in listed.output and "running" in listed.output
            assert "static1" in listed.output and "waiting" in listed.output
            refused = await anyio.to_thread.run_sync(
                lambda: runner.invoke(app, ["stop", "live/cam", "--url", base])
            )
            assert refused.exit_code == 1 and "401" in refused.output
            stopped = await anyio.to_thread.run_sync(
                lambda: runner.invoke(
                    app, ["stop", "live/cam", "--url", base, "--auth", "admin:secret"]
                )
            )
            assert stopped.exit_code == 0, stopped.output
            with anyio.fail_after(5):
                await ended.wait()


@pytest.mark.anyio
async def test_a_text_put_survives_a_restart_as_sent(tmp_path: Path) -> None:
    """Regression: a stream the text PUT re-declares must not get back, at the next start,
    the fields the config file had for it (the persisted patch replaces, not merges)."""
    from headwater.config import load_settings

    config_file = tmp_path / "flussonic.conf"
    config_file.write_text(
        "edit_auth admin secret;\nstream published { input publish://; password old; }\n"
    )
    data = tmp_path / "data"
    settings = load_settings(config_file, data_dir=data)
    text = "edit_auth admin secret;\nstream published { input publish://; title Lobby; }\n"
    document = settings.model_dump(mode="json")
    del document["listeners"]  # the test server's own loopback listeners
    async with core_server(document, data_dir=data) as hw:
        async with client() as http:
            put = await http.put(
                hw.http_url(f"{API}/config"),
                content=text,
                headers={"Content-Type": "text/plain"},
                auth=ADMIN,
            )
            assert put.status_code == 200, put.text
        assert hw.server.settings.streams[0].password is None
    again = load_settings(config_file, data_dir=data)
    (stream,) = again.streams
    assert stream.password is None and stream.model_extra["title"] == "Lobby"


@pytest.mark.anyio
async def test_a_stream_read_from_the_api_can_be_put_back_as_it_is() -> None:
    config = {**SECURED, "streams": [{"name": "s", "inputs": PUBLISH, "title": "T"}]}
    async with core_server(config) as hw, client() as http:
        url = hw.http_url(f"{API}/streams/s")
        shown = (await http.get(url)).json()
        assert (await http.put(url, json=shown, auth=ADMIN)).status_code == 200
        (stream,) = hw.server.settings.streams
        assert set(stream.model_extra or {}) == {"title"}
