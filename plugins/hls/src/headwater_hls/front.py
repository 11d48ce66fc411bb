"""One raw ASGI route for every live HLS URL, answered ahead of the API's routing.

Players ask for a playlist about once per segment duration and for every segment, so a
watched stream makes a request or two a second; through FastAPI each went through its
middleware stack, a scan of every API route and a Request and Response object. Here the
path is parsed once (:func:`~headwater_hls.hls_path.parse_hls_path`), the handler returns
a :class:`~headwater_hls.replies.Reply` and two ASGI messages carry it. The route is marked
``front``: the core tries it before the API and the web page (see the ``http_routes``
hook), and it matches only the HLS file names, so nothing else changes hands. GET and
HEAD are served; another method is a partial match, which the app answers ``405``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from headwater_hls import low_latency_routes, routes
from headwater_hls.hls_path import HLSRequest, Resource, parse_hls_path
from headwater_hls.live import HLSHub
from headwater_hls.replies import TEXT_TYPE, Reply, send_reply

Handler = Callable[[HLSHub, HLSRequest], Awaitable[Reply]]

HANDLERS: dict[Resource, Handler] = {
    Resource.MASTER: routes.master,
    Resource.MEDIA: routes.media,
    Resource.SEGMENT: routes.segment,
    Resource.LL_MASTER: low_latency_routes.master,
    Resource.LL_MEDIA: low_latency_routes.media,
    Resource.LL_INIT: low_latency_routes.init,
    Resource.LL_PART: low_latency_routes.part,
    Resource.LL_SEGMENT: low_latency_routes.segment,
}
METHODS = frozenset({"GET", "HEAD"})
NOT_ALLOWED = Reply(
    405, [(b"allow", b"GET, HEAD"), (b"content-type", TEXT_TYPE)], b"Method Not Allowed"
)
"""Starlette's answer to a method a route does not take."""


class HLSRoute(BaseRoute):
    """Every live HLS URL of a server (see the module docstring)."""

    front = True
    """Tried before the API's routes and middleware (the core's ``http_routes`` contract)."""

    def __init__(self, hub: HLSHub) -> None:
        self.hub = hub

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """FULL for a GET or HEAD of an HLS path (the parsed path in the child scope),
        PARTIAL for another method, NONE for any other path."""
        if scope["type"] != "http":
            return Match.NONE, {}
        parsed = parse_hls_path(scope["path"])
        if parsed is None:
            return Match.NONE, {}
        match = Match.FULL if scope["method"] in METHODS else Match.PARTIAL
        return match, {"headwater.hls": parsed}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        """No named URLs here."""
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request (405 with ``Allow`` for a method other than GET and HEAD)."""
        if scope["method"] not in METHODS:
            await send_reply(send, NOT_ALLOWED)
            return
        parsed = scope.get("headwater.hls") or parse_hls_path(scope["path"])
        if parsed is None:  # pragma: no cover - handle is only called after a match
            await send_reply(send, Reply(404, [], b"Not Found"))
            return
        request = HLSRequest(parsed, scope)
        await send_reply(send, await HANDLERS[parsed.resource](self.hub, request))
