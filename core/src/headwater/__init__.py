"""headwater: a live-video ingest server.

The public API for plugin authors: the hook marker, the server and publish path, streams
and consumers, the media model, settings and errors. Everything else is private.
"""

from headwater.config.models import ListenerSettings, PortRange, ServerSettings, StreamSettings
from headwater.consumers import Consumer
from headwater.errors import (
    ConfigError,
    HeadwaterError,
    PluginError,
    ProtocolError,
    PublishRejected,
    Refusal,
)
from headwater.listeners import Listener
from headwater.markers import hookimpl
from headwater.media.frames import Codec, Frame, MediaKind, Track
from headwater.play_urls import PlayBase, PlayURL
from headwater.publication import Publication
from headwater.publish_request import PublishRequest
from headwater.server import Server
from headwater.stream import Stream
from headwater.subscription import Subscription
from headwater.verdict import Verdict

__all__ = [
    "Codec",
    "ConfigError",
    "Consumer",
    "Frame",
    "HeadwaterError",
    "Listener",
    "ListenerSettings",
    "MediaKind",
    "PlayBase",
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
    "Stream",
    "StreamSettings",
    "Subscription",
    "Track",
    "Verdict",
    "hookimpl",
]
