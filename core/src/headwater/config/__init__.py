"""Configuration: the model (Flussonic API v3 names), units, and loading."""

from headwater.config.loading import Settings, deep_merge, load_settings, validate_document
from headwater.config.models import (
    DVRSettings,
    EditAuth,
    InputSettings,
    Limits,
    ListenerSettings,
    OnPublish,
    PortRange,
    PushSettings,
    ServerSettings,
    SRTPublishSettings,
    StreamSettings,
)
from headwater.config.units import Duration, Size, parse_duration, parse_size

__all__ = [
    "DVRSettings",
    "Duration",
    "EditAuth",
    "InputSettings",
    "Limits",
    "ListenerSettings",
    "OnPublish",
    "PortRange",
    "PushSettings",
    "SRTPublishSettings",
    "ServerSettings",
    "Settings",
    "Size",
    "StreamSettings",
    "deep_merge",
    "load_settings",
    "parse_duration",
    "parse_size",
    "validate_document",
]
