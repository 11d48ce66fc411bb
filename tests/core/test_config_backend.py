"""The config backend (DESIGN §6): streams from another HTTP service, polled and applied live."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from core_helpers import Reply, core_server, eventually, http_peer, request, video

from headwater import PublishRejected, Refusal
from headwater.config_backend import backend_url, parse_body, parse_streams

# What Flussonic's example backend answers: a Python literal, single quotes, not JSON.
ONE_STREAM = (
    "{'streams': [{'name': 'backend1', 'inputs': [{'url': 'publish://'}], 'password': 'pw'}]}"
)
TWO_STREAMS = (
    "{'streams': [{'name': 'backend1', 'inputs': [{'url': 'publish://'}], 'password': 'pw'},"
    " {'name': 'backend2', 'inputs': [{'url': 'publish://'}]}]}"
)
NO_STREAMS = "{'streams': []}"


@pytest.mark.parametrize("base", ["http://b/config_backend", "http://b/config_backend/"])
@pytest.mark.parametrize("path", ["streams?host=h", "/streams?host=h"])
def test_one_slash_between_base_and_path(base: str, path: str) -> None:
    assert backend_url(base, path) == "http://b/config_backend/streams?host=h"


BODIES = [
    ('{"streams": [{"name": "a"}]}', {"streams": [{"name": "a"}]}),
    ("{'streams': [{'name': 'a', 'static': True}]}", {"streams": [{"name": "a", "static": True}]}),
    ("  {'streams': []}\n", {"streams": []}),
]


@pytest.mark.parametrize(("text", "value"), BODIES)
def test_json_or_python_literal(text: str, value: Any) -> None:
    assert parse_body(text) == value


@pytest.mark.parametrize("text", ["", "{'streams': [", "__import__('os')", "streams = []"])
def test_unparsable_answers(text: str) -> None:
    with pytest.raises(ValueError, match="neither JSON nor a Python literal"):
        parse_body(text)


def test_invalid_entries_are_skipped_with_their_path() -> None:
    streams, errors = parse_streams(
        {"streams": [{"name": "ok"}, {"inputs": []}, {"name": "x", "takeover": "maybe"}]}
    )
    assert [s.name for s in streams] == ["ok"]
    assert [e.split(":")[0] for e in errors] == ["streams.1.name", "streams.2.takeover"]
    with pytest.raises(ValueError, match="no 'streams' list"):
        parse_streams({"stream": []})
    with pytest.raises(ValueError, match="no 'streams' list"):
        parse_streams([])


class Backend:
    """The test backend's state: what ``/config_backend/streams`` answers now."""

    def __init__(self) -> None:
        self.answer = ONE_STREAM
        self.status = 200
        self.trickle = 0.0

    def route(self, method: str, path: str, body: bytes) -> Reply:
        if path.startswith("/config_backend/streams?"):
            headers = {"content-type": "text/plain"}
            return Reply(self.status, self.answer.encode(), headers, trickle=self.trickle)
        return Reply(404)


def backend_config(base: str) -> dict[str, Any]:
    return {
        "config_external": base,
        "limits": {"config_external_interval": 0.2, "config_external_timeout": 0.5},
    }


@pytest.mark.anyio
@pytest.mark.parametrize("slash", ["", "/"])
async def test_backend_streams_come_and_go(slash: str) -> None:
    backend = Backend()
    with http_peer(backend.route) as peer:
        config = backend_config(f"{peer.base}/config_backend{slash}")
        async with core_server(config) as hw:
            server = hw.server
            await eventually(lambda: "backend1" in server.streams)
            assert peer.requests[0]["method"] == "GET"
            assert peer.requests[0]["path"].startswith("/config_backend/streams?host=")
            stream = server.streams.get("backend1")
            assert stream is not None and stream.named_by == "external" and stream.static

            # the backend's settings apply: its password is asked for
            with pytest.raises(PublishRejected) as info:
                async with server.publish(request("backend1")):
                    pass
            assert info.value.refusal is Refusal.UNAUTHORIZED

            # a new stream becomes publishable on the next poll
            with pytest.raises(PublishRejected) as info:
                async with server.publish(request("backend2")):
                    pass
            assert info.value.refusal is Refusal.NOT_FOUND
            backend.answer = TWO_STREAMS
            await eventually(lambda: "backend2" in server.streams)

            # a stream the backend drops has its publisher stopped
            async with server.publish(request("backend2")) as pub:
                pub.send(video(0))
                backend.answer = ONE_STREAM
                with anyio.fail_after(5):
                    await anyio.sleep(30)  # cancelled by the backend poll
            assert pub.stop_reason == "the config backend no longer lists this stream"
            await eventually(lambda: "backend2" not in server.streams)
            with pytest.raises(PublishRejected, match="no stream or template"):
                async with server.publish(request("backend2")):
                    pass


@pytest.mark.anyio
async def test_backend_down_keeps_the_last_good_answer() -> None:
    backend = Backend()
    with http_peer(backend.route) as peer:
        async with core_server(backend_config(peer.base + "/config_backend/")) as hw:
            server = hw.server
            await eventually(lambda: "backend1" in server.streams)
            url = hw.http_url("streamer/api/v3/config")
            async with httpx.AsyncClient(timeout=5) as http:
                status = (await http.get(url)).json()["stats"]["config_external"]
                assert status["ok"] is True and status["streams"] == 1
                assert status["last_error"] is None

                backend.status = 503
                await eventually(lambda: server.backend_status.get("ok") is False)
                status = (await http.get(url)).json()["stats"]["config_external"]
                assert status["last_error"] == "HTTP 503"

                backend.status, backend.answer = 200, "this is not a config"
                await eventually(
                    lambda: "neither JSON" in (server.backend_status["last_error"] or "")
                )

                # regression: an answer too deep for the JSON parser used to kill the server
                backend.answer = "[" * 100_000
                server.backend_status["last_error"] = None
                await eventually(
                    lambda: "neither JSON" in (server.backend_status["last_error"] or "")
                )
                assert (await http.get(url)).status_code == 200

                # a backend that answers too slowly to ever finish is down too
                backend.trickle = 0.2
                await eventually(
                    lambda: server.backend_status["last_error"] == "no complete answer within 0.5s"
                )
                backend.trickle = 0.0

                # the last good answer still holds: backend1 is publishable
                assert "backend1" in server.streams
                async with server.publish(request("backend1", password="pw")) as pub:
                    assert pub.name == "backend1"

                backend.answer = NO_STREAMS
                await eventually(lambda: server.backend_status.get("ok") is True)
                await eventually(lambda: "backend1" not in server.streams)


@pytest.mark.anyio
async def test_unreachable_backend_is_reported() -> None:
    with http_peer(Backend().route) as peer:
        base = peer.base
    # the peer is gone now: nothing listens on its port
    async with core_server(backend_config(base)) as hw:
        await eventually(lambda: hw.server.backend_status.get("ok") is False)
        assert "ConnectError" in hw.server.backend_status["last_error"]
        assert hw.server.backend_streams == []


@pytest.mark.anyio
async def test_config_external_can_be_set_through_the_api() -> None:
    backend = Backend()
    with http_peer(backend.route) as peer:
        async with core_server() as hw, httpx.AsyncClient(timeout=5) as http:
            assert "backend1" not in hw.server.streams
            patch = backend_config(peer.base + "/config_backend")
            reply = await http.put(hw.http_url("streamer/api/v3/config"), json=patch)
            assert reply.status_code == 200, reply.text
            await eventually(lambda: "backend1" in hw.server.streams)
            # switched off again: the backend's streams go away
            reply = await http.put(
                hw.http_url("streamer/api/v3/config"), json={"config_external": None}
            )
            assert reply.status_code == 200
            await eventually(lambda: "backend1" not in hw.server.streams)
