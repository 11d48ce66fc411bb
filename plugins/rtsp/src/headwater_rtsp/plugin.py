"""Hook implementations of headwater-rtsp: thin functions that delegate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater import PlayBase, PlayURL, hookimpl
from headwater_rtsp.server import RTSPListener
from headwater_rtsp.settings import RTSPSettings

if TYPE_CHECKING:
    from headwater import Server, Stream


@hookimpl
def settings_sections() -> dict[str, Any]:
    """The ``rtsp`` section (UDP ports, timeouts, authentication scheme, limits)."""
    return {"rtsp": RTSPSettings}


@hookimpl
def listen(server: Server) -> list[RTSPListener]:
    """One listener per ``listeners.rtsp`` entry."""
    return [RTSPListener(server, entry) for entry in server.settings.listeners.get("rtsp", [])]


@hookimpl
def play_urls(server: Server, stream: Stream, base: PlayBase) -> list[PlayURL]:
    """``rtsp://host[:port]/NAME`` per RTSP listener (PLAY over UDP or TCP)."""
    ports = dict.fromkeys(port for _host, port in server.listeners.addresses("rtsp"))
    return [
        PlayURL("rtsp", base.url("rtsp", port, stream.name, default_port=554), "RTSP")
        for port in ports
    ]
