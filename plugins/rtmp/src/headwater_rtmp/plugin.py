"""Hook implementations of headwater-rtmp: thin functions that delegate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater import PlayBase, PlayURL, hookimpl
from headwater_rtmp.push import SCHEMES, RTMPPusher
from headwater_rtmp.server import RTMPListener
from headwater_rtmp.settings import RTMPSettings
from headwater_rtmp.wire.names import DROPPED_APP

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


@hookimpl
def play_urls(server: Server, stream: Stream, base: PlayBase) -> list[PlayURL]:
    """``rtmp://host[:port]/NAME`` per RTMP listener, ``rtmps://`` per RTMPS listener.

    The first path segment of an RTMP URL is the application, so a one-segment name is put
    under the application ``rtmp`` (dropped again when the player connects).
    """
    path = stream.name if "/" in stream.name else f"{DROPPED_APP}/{stream.name}"
    urls = [
        PlayURL("rtmp", base.url("rtmp", port, path, default_port=1935), "RTMP")
        for port in _ports(server, "rtmp")
    ]
    urls += [
        PlayURL("rtmps", base.url("rtmps", port, path, default_port=443), "RTMPS (TLS)")
        for port in _ports(server, "rtmps")
    ]
    return urls


def _ports(server: Server, proto: str) -> list[int]:
    """Distinct bound ports of ``proto``'s listeners, in order."""
    return list(dict.fromkeys(port for _host, port in server.listeners.addresses(proto)))
