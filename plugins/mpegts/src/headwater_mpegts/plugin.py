"""Hook implementations of headwater-mpegts: HTTP routes and the UDP/HTTP push claims."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from headwater import PlayBase, PlayURL, hookimpl
from headwater_mpegts.http_play import play_endpoint
from headwater_mpegts.http_publish import publish_endpoint
from headwater_mpegts.http_push import HTTPPush
from headwater_mpegts.read_tick import ReadTick
from headwater_mpegts.settings import MpegtsSettings
from headwater_mpegts.udp_push import UDPPush

if TYPE_CHECKING:
    from headwater import Server, Stream


@hookimpl
def settings_sections() -> dict[str, Any]:
    """The ``mpegts`` section (how an HTTP publisher's body is batched)."""
    return {"mpegts": MpegtsSettings}


@hookimpl
def http_routes(server: Server) -> list[Route]:
    """``/{name}/mpegts``: POST/PUT publish, GET play."""
    ticks: dict[float, ReadTick] = {}  # this server's publishers share their read ticks

    async def endpoint(request: Request) -> Response:
        if request.method == "GET":
            return await play_endpoint(server, request)
        return await publish_endpoint(server, request, ticks)

    return [Route("/{name:path}/mpegts", endpoint, methods=["GET", "POST", "PUT"])]


@hookimpl
def push(server: Server, stream: Stream, url: str) -> UDPPush | HTTPPush | None:
    """Claim ``udp://`` and ``http(s)://`` push URLs; leave every other scheme alone."""
    if url.startswith("udp://"):
        return UDPPush(url)
    if url.startswith(("http://", "https://")):
        return HTTPPush(url)
    return None


@hookimpl
def play_urls(stream: Stream, base: PlayBase) -> list[PlayURL]:
    """``http://host:port/NAME/mpegts``, the live stream as one endless MPEG-TS body."""
    return [PlayURL("mpegts", base.http_url(f"{stream.name}/mpegts"), "MPEG-TS over HTTP")]
