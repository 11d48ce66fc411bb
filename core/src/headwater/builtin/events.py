"""Stream and source events (``stream_opened``, ``source_connected``, ``source_closed``,
``stream_closed``) from the stream life-cycle hooks; totals for the metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.events.bus import emit
from headwater.markers import hookimpl
from headwater.telemetry import publication_ended, tallies_of

if TYPE_CHECKING:
    from headwater.config.models import StreamSettings
    from headwater.server import Server
    from headwater.stream import Stream


@hookimpl
def stream_started(server: Server, stream: Stream, settings: StreamSettings) -> None:
    """A publisher came: ``stream_opened``, then ``source_connected``."""
    pub = stream.publisher
    tallies_of(server).publications[str(pub.get("proto", ""))] += 1
    emit(server, "stream_opened", media=stream.name, named_by=stream.named_by)
    emit(
        server,
        "source_connected",
        media=stream.name,
        url="publish://",
        status="connected",
        proto=pub.get("proto"),
        ip=pub.get("ip"),
        port=pub.get("port"),
    )


@hookimpl
def stream_stopped(server: Server, stream: Stream) -> None:
    """The publisher left: ``source_closed`` (bytes, reason), then ``stream_closed``."""
    pub = stream.publisher
    stats = stream.stats
    reason = stream.source_error or "publisher left"
    publication_ended(server, stream)
    emit(
        server,
        "source_closed",
        media=stream.name,
        url="publish://",
        proto=pub.get("proto"),
        ip=pub.get("ip"),
        port=pub.get("port"),
        bytes=stats.bytes_in,
        frames=stats.frames_in,
        reason=reason,
        client_count=len(stream.subscriptions),
    )
    emit(server, "stream_closed", media=stream.name, reason=reason, bytes_out=stream.bytes_out)
