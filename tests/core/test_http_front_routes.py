"""Plugin routes marked ``front``: tried before the API and the web page, for their own
paths only; a partial match (another method) and every other path reach the app as before."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Match, NoMatchFound, Route

from headwater import hookimpl

sys.path.insert(0, str(Path(__file__).parent))
from core_helpers import core_server

pytestmark = pytest.mark.anyio


class SuffixRoute(BaseRoute):
    """Answers GET of any path ending in ``.front`` (another method: a partial match)."""

    front = True

    def __init__(self) -> None:
        self.calls: list[str] = []

    def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
        if scope["type"] != "http" or not scope["path"].endswith(".front"):
            return Match.NONE, {}
        return (Match.FULL if scope["method"] == "GET" else Match.PARTIAL), {"seen": True}

    def url_path_for(self, name: str, /, **params: Any) -> Any:
        raise NoMatchFound(name, params)

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append(f"{scope['method']} {scope['path']} {scope.get('seen')}")
        status = 200 if scope["method"] == "GET" else 405
        await PlainTextResponse("front\n", status_code=status)(scope, receive, send)


class FrontPlugin:
    def __init__(self) -> None:
        self.route = SuffixRoute()

    @hookimpl
    def http_routes(self, server: Any) -> list[BaseRoute]:
        async def plain(request: Any) -> PlainTextResponse:
            return PlainTextResponse("plain\n")

        return [self.route, Route("/plain/{name:path}", plain)]


async def test_front_routes_answer_first_and_only_their_paths() -> None:
    plugin = FrontPlugin()
    async with (
        core_server(extra_plugins=[plugin]) as hw,
        httpx.AsyncClient(timeout=5) as http,
    ):
        reply = await http.get(hw.http_url("live/cam/x.front"))
        assert (reply.status_code, reply.text) == (200, "front\n")
        assert plugin.route.calls == ["GET /live/cam/x.front True"]
        # a plain route of the same plugin still answers through the app
        reply = await http.get(hw.http_url("plain/a.b"))
        assert (reply.status_code, reply.text) == (200, "plain\n")
        # a method the route does not take goes on to the app's router (which finds the
        # same route's partial match)
        reply = await http.post(hw.http_url("live/cam/x.front"))
        assert reply.status_code == 405
        # the API is never a front route's: its own answer, not the route's
        reply = await http.get(hw.http_url("streamer/api/v3/streams/none.front"))
        assert reply.status_code == 404 and reply.json()["detail"]
        assert plugin.route.calls == ["GET /live/cam/x.front True", "POST /live/cam/x.front True"]
