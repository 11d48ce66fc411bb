"""``GET /hello``: the greeting from ``[hello]`` and the live streams with their counts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from headwater import Server
from headwater_hello.settings import SECTION


def hello_routes(server: Server) -> list[Route]:
    """The plugin's routes, bound to ``server``."""

    async def hello(request: Request) -> JSONResponse:
        streams = {
            s.name: s.publisher.get("hello", {}).get("frames", 0) for s in server.streams if s.live
        }
        greeting = server.plugin_settings[SECTION].greeting
        return JSONResponse({"greeting": greeting, "streams": streams})

    return [Route("/hello", hello, methods=["GET"])]
