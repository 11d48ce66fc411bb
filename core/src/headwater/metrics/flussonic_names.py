"""Per-stream metrics under Flussonic's names (``openmetrics_metric`` in its API schema):
``stream_bitrate``, ``stream_bytes_in``, ``stream_bytes_out``, ``stream_online_clients``,
``stream_client_count``, ``stream_out_bandwidth``, ``stream_retry_count``; label ``name``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from headwater.metrics.per_stream import PerStream, per_stream_families
from headwater.stream import Stream


def _bitrate(s: Stream) -> float:
    return s.stats.bitrate() if s.live else 0


FAMILIES: tuple[PerStream, ...] = (
    PerStream("stream_bitrate", "gauge", "Input bitrate, kbit/s", _bitrate),
    PerStream(
        "stream_bytes_in",
        "counter",
        "Payload bytes received in this publication",
        lambda s: s.stats.bytes_in,
    ),
    PerStream(
        "stream_bytes_out",
        "counter",
        "Payload bytes sent to consumers in this publication",
        lambda s: s.bytes_out,
    ),
    PerStream(
        "stream_online_clients",
        "gauge",
        "Consumers reading the stream now",
        lambda s: len(s.subscriptions),
    ),
    PerStream(
        "stream_client_count",
        "gauge",
        "Clients of the stream (players, recorders, pushes)",
        lambda s: len(s.subscriptions),
    ),
    PerStream(
        "stream_out_bandwidth", "gauge", "Output bitrate, kbit/s", lambda s: s.output_bitrate()
    ),
    PerStream(
        "stream_retry_count",
        "counter",
        "Publications after the first one",
        lambda s: max(s.publications - 1, 0),
    ),
)
"""Flussonic's per-stream families and how each reads a stream."""


class FlussonicStreamCollector(Collector):
    """One sample per stream in the registry, per family of :data:`FAMILIES`."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        """Read every stream now."""
        return iter(per_stream_families(FAMILIES, list(self.server.streams)))


def openmetrics_text(server: Any) -> bytes:
    """The per-stream families as OpenMetrics text (ends with ``# EOF``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FlussonicStreamCollector(server))
    return generate_latest(registry)
