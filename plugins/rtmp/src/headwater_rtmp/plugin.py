"""Hook implementations of headwater-rtmp: thin functions that delegate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater import hookimpl
from headwater_rtmp.push import SCHEMES, RTMPPusher
from headwater_rtmp.server import RTMPListener
from headwater_rtmp.settings import RTMPSettings

if TYPE_CHECKING:
    from headwater import Server, Stream


@hookimpl
def settings_sections() -> dict[str, Any]:
    """The ``rtmp`` section (chunk size, window, per-connection limits, push timeouts)."""
    return {"rtmp": RTMPSettings}


@hookimpl
def listen(server: Server) -> list[RTMPListener]:
    """One listener per ``listeners.rtmp`` entry and a TLS one per ``listeners.rtmps`` entry."""
    listeners = server.settings.listeners
    plain = [RTMPListener(server, entry) for entry in listeners.get("rtmp", [])]
    return plain + [RTMPListener(server, entry, tls=True) for entry in listeners.get("rtmps", [])]


@hookimpl
def push(server: Server, stream: Stream, url: str) -> RTMPPusher | None:
    """Claim ``rtmp://`` and ``rtmps://`` push URLs."""
    if url.partition("://")[0] not in SCHEMES:
        return None
    return RTMPPusher(url, server.plugin_settings["rtmp"])
