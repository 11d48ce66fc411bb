"""Running totals the metrics need beyond what the live streams hold: refusals by reason,
bytes of publications that have ended, SRT losses, config-backend failures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headwater.events.bus import emit

if TYPE_CHECKING:
    from headwater.errors import PublishRejected
    from headwater.publish_request import PublishRequest
    from headwater.stream import Stream


@dataclass
class Tallies:
    """Server-wide counters (the ``headwater_*_total`` metrics)."""

    refusals: Counter[str] = field(default_factory=Counter)
    publications: Counter[str] = field(default_factory=Counter)
    """Publications started, by protocol."""
    bytes_in_ended: int = 0
    bytes_out_ended: int = 0
    drops_ended: int = 0
    srt_lost_ended: int = 0
    backend_errors: int = 0


def tallies_of(server: Any) -> Tallies:
    """The server's tallies (a fresh set for test doubles that have none)."""
    found = getattr(server, "tallies", None)
    return found if found is not None else Tallies()


def publish_refused(server: Any, request: PublishRequest, exc: PublishRejected) -> None:
    """Count a refusal and emit ``publish_refused``."""
    tallies_of(server).refusals[str(exc.refusal)] += 1
    emit(
        server,
        "publish_refused",
        media=request.name or request.path or request.stream_id or None,
        proto=request.proto,
        ip=request.ip,
        refusal=str(exc.refusal),
        reason=exc.reason,
    )


def publication_ended(server: Any, stream: Stream) -> None:
    """Fold an ended publication's counters into the totals."""
    tallies = tallies_of(server)
    tallies.bytes_in_ended += stream.stats.bytes_in
    tallies.bytes_out_ended += stream.bytes_out
    if stream.input_stats is not None:
        tallies.srt_lost_ended += int(stream.input_stats().get("srt_lost", 0))


def backend_failed(server: Any, url: str, reason: str, message: str) -> None:
    """Count a config-backend failure and emit ``config_external_error``."""
    tallies_of(server).backend_errors += 1
    emit(
        server,
        "config_external_error",
        reason=reason,
        error=message,
        url=url,
        **{"while": "refresh"},
    )
