"""Events the sans-I/O RTMP sessions hand to the socket code.

Audio, video and data messages on a publishing stream are returned as the
:class:`~headwater_rtmp.wire.messages.Message` itself (no wrapper object on the hot path);
everything else is one of these frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Connected:
    """``connect`` was accepted: the application and the tcUrl the client named."""

    app: str
    tc_url: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PublishRequested:
    """``publish`` on message stream ``stream_id``; answer with ``accept_publish`` or
    ``reject_publish``. ``path`` is application and stream name joined (DESIGN §1)."""

    stream_id: int
    path: str
    args: dict[str, str]
    publish_type: str = "live"


@dataclass(frozen=True, slots=True)
class PlayRequested:
    """``play`` on message stream ``stream_id``; answer with ``accept_play`` or ``reject_play``."""

    stream_id: int
    path: str
    args: dict[str, str]


@dataclass(frozen=True, slots=True)
class MetadataReceived:
    """``@setDataFrame onMetaData`` (or a bare ``onMetaData``) on a publishing stream."""

    stream_id: int
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StreamClosed:
    """The client ended publishing or playing on ``stream_id`` (FCUnpublish, closeStream,
    deleteStream)."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class PublishStarted:
    """Client side: the server answered ``NetStream.Publish.Start``."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class Refused:
    """Client side: the server refused (``_error`` or an ``onStatus`` of level error)."""

    code: str
    description: str
