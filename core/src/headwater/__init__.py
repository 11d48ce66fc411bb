"""headwater: a live-video ingest server.

The public API for plugin authors: the hook marker, the server with its publish and play
paths, streams and consumers, the media model, settings and errors. Everything else is
private.

Names are loaded on first use (PEP 562 ``__getattr__``), so importing a sans-I/O module
such as ``headwater.media.flv`` or a plugin's protocol core loads neither anyio, pluggy
nor pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ByteBudget": "headwater.byte_budget",
    "ClientTasks": "headwater.client_tasks",
    "Codec": "headwater.media.frames",
    "ConfigError": "headwater.errors",
    "ConnectionGate": "headwater.connection_limits",
    "Consumer": "headwater.consumers",
    "DVRSettings": "headwater.config.models",
    "Frame": "headwater.media.frames",
    "HandshakeRejected": "headwater.errors",
    "HeadwaterError": "headwater.errors",
    "LocalProtocolError": "headwater.errors",
    "Listener": "headwater.listeners",
    "ListenerSettings": "headwater.config.models",
    "MediaError": "headwater.errors",
    "MediaKind": "headwater.media.frames",
    "PlayBase": "headwater.play_urls",
    "PlayRejected": "headwater.errors",
    "PlayRequest": "headwater.play_request",
    "PlayURL": "headwater.play_urls",
    "PluginError": "headwater.errors",
    "PortRange": "headwater.config.models",
    "ProtocolError": "headwater.errors",
    "Publication": "headwater.publication",
    "PublishRejected": "headwater.errors",
    "PublishRequest": "headwater.publish_request",
    "Refusal": "headwater.errors",
    "Server": "headwater.server",
    "SharedTick": "headwater.shared_tick",
    "ServerSettings": "headwater.config.models",
    "Stream": "headwater.stream",
    "StreamSettings": "headwater.config.models",
    "Subscription": "headwater.subscription",
    "Track": "headwater.media.frames",
    "backend_url": "headwater.config_backend",
    "check_read_access": "headwater.http.access",
    "check_write_access": "headwater.http.access",
    "name_problem": "headwater.naming",
    "validate_name": "headwater.naming",
    "emit_event": "headwater.events.bus",
    "Verdict": "headwater.verdict",
    "hookimpl": "headwater.markers",
    "shown": "headwater.log_text",
    "first_error": "headwater.connection_info",
    "peer_address": "headwater.connection_info",
}
"""Each public name and the module that defines it."""

__all__ = [
    "ByteBudget",
    "ClientTasks",
    "Codec",
    "ConfigError",
    "ConnectionGate",
    "Consumer",
    "DVRSettings",
    "Frame",
    "HandshakeRejected",
    "HeadwaterError",
    "Listener",
    "ListenerSettings",
    "LocalProtocolError",
    "MediaError",
    "MediaKind",
    "PlayBase",
    "PlayRejected",
    "PlayRequest",
    "PlayURL",
    "PluginError",
    "PortRange",
    "ProtocolError",
    "Publication",
    "PublishRejected",
    "PublishRequest",
    "Refusal",
    "Server",
    "ServerSettings",
    "SharedTick",
    "Stream",
    "StreamSettings",
    "Subscription",
    "Track",
    "Verdict",
    "backend_url",
    "check_read_access",
    "check_write_access",
    "emit_event",
    "first_error",
    "hookimpl",
    "name_problem",
    "peer_address",
    "shown",
    "validate_name",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'headwater' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from headwater.byte_budget import ByteBudget
    from headwater.client_tasks import ClientTasks
    from headwater.config.models import (
        DVRSettings,
        ListenerSettings,
        PortRange,
        ServerSettings,
        StreamSettings,
    )
    from headwater.config_backend import backend_url
    from headwater.connection_info import first_error, peer_address
    from headwater.connection_limits import ConnectionGate
    from headwater.consumers import Consumer
    from headwater.errors import (
        ConfigError,
        HandshakeRejected,
        HeadwaterError,
        LocalProtocolError,
        MediaError,
        PlayRejected,
        PluginError,
        ProtocolError,
        PublishRejected,
        Refusal,
    )
    from headwater.events.bus import emit_event
    from headwater.http.access import check_read_access, check_write_access
    from headwater.listeners import Listener
    from headwater.log_text import shown
    from headwater.markers import hookimpl
    from headwater.media.frames import Codec, Frame, MediaKind, Track
    from headwater.naming import name_problem, validate_name
    from headwater.play_request import PlayRequest
    from headwater.play_urls import PlayBase, PlayURL
    from headwater.publication import Publication
    from headwater.publish_request import PublishRequest
    from headwater.server import Server
    from headwater.shared_tick import SharedTick
    from headwater.stream import Stream
    from headwater.subscription import Subscription
    from headwater.verdict import Verdict
