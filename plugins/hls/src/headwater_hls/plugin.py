"""Hook implementations of headwater-hls (thin: each delegates)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from pydantic import BaseModel

from headwater import PlayBase, PlayURL, hookimpl
from headwater_hls.front import HLSRoute
from headwater_hls.live import HLSHub
from headwater_hls.settings import HLSSettings

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from headwater import Server, Stream

_HUBS: weakref.WeakKeyDictionary[Server, HLSHub] = weakref.WeakKeyDictionary()


def hub_of(server: Server) -> HLSHub:
    """The live HLS registry of ``server`` (one per server, kept across HTTP restarts)."""
    hub = _HUBS.get(server)
    if hub is None:
        hub = _HUBS[server] = HLSHub(server)
    return hub


@hookimpl
def settings_sections() -> dict[str, type[BaseModel]]:
    """The ``[hls]`` section (segment duration and count, idle time, limits)."""
    return {"hls": HLSSettings}


@hookimpl
def http_routes(server: Server) -> list[BaseRoute]:
    """``/{name}/index.m3u8``, ``mono.m3u8``, ``video.m3u8`` and the segments; the same
    under ``tracks-SEL/``; low-latency ``index.ll.m3u8``, ``mono.ll.m3u8`` and its parts:
    one raw ASGI route, marked to be tried before the API's (see ``headwater_hls.front``)."""
    return [HLSRoute(hub_of(server))]


@hookimpl
def play_urls(stream: Stream, base: PlayBase) -> list[PlayURL]:
    """``http://host:port/NAME/index.m3u8`` (and ``index.ll.m3u8``, low-latency) on the
    HTTP listener the client used."""
    return [
        PlayURL("hls", base.http_url(f"{stream.name}/index.m3u8"), "HLS"),
        PlayURL("ll-hls", base.http_url(f"{stream.name}/index.ll.m3u8"), "LL-HLS"),
    ]


@hookimpl
def stream_started(server: Server, stream: Stream) -> None:
    """Wake a running HLS of this stream that waits for its publisher to come back."""
    hub_of(server).stream_started(stream.name)


@hookimpl
def stream_stopped(server: Server, stream: Stream) -> None:
    """End the gather pause of a running HLS of this stream, so its last segment is
    listed at once."""
    hub_of(server).stream_stopped(stream.name)
