"""Hook implementations of headwater-srt (thin: each delegates)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from headwater import PublishRequest, hookimpl

from .listener import SRTListener
from .settings import SRTSettings

if TYPE_CHECKING:
    from headwater import Server


@hookimpl
def settings_sections() -> dict[str, type[BaseModel]]:
    """The ``[srt]`` section (latency, idle timeout, backend timeout)."""
    return {"srt": SRTSettings}


@hookimpl
def listen(server: Server) -> list[SRTListener]:
    """One listener per ``listeners.srt`` entry."""
    settings: SRTSettings = server.plugin_settings["srt"]
    entries = server.settings.listeners.get("srt", [])
    return [SRTListener(server, entry, settings) for entry in entries]


@hookimpl
async def resolve_name(server: Server, request: PublishRequest) -> str | None:
    """Name an SRT publication on a port-range port from the config backend
    (``srt_port_resolve``), unless its stream id already named it."""
    if request.proto != "srt" or request.path:
        return None
    for listener in server.listeners.of("srt"):
        resolver_for = getattr(listener, "resolver_for", None)  # another plugin's "srt"?
        resolver = resolver_for(request.local_port) if resolver_for else None
        if resolver is not None:
            return await resolver.resolve(request)
    return None
