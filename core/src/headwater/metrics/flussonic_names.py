"""Per-stream metrics under Flussonic's names (``openmetrics_metric`` in its API schema):
``stream_bitrate``, ``stream_bytes_in``, ``stream_bytes_out``, ``stream_online_clients``,
``stream_client_count``, ``stream_out_bandwidth``, ``stream_retry_count``; label ``name``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry


class FlussonicStreamCollector(Collector):
    """One sample per stream in the registry, per family."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        """Read every stream now."""
        bitrate = GaugeMetricFamily("stream_bitrate", "Input bitrate, kbit/s", labels=["name"])
        out_bw = GaugeMetricFamily(
            "stream_out_bandwidth", "Output bitrate, kbit/s", labels=["name"]
        )
        online = GaugeMetricFamily(
            "stream_online_clients", "Consumers reading the stream now", labels=["name"]
        )
        clients = GaugeMetricFamily(
            "stream_client_count",
            "Clients of the stream (players, recorders, pushes)",
            labels=["name"],
        )
        bytes_in = CounterMetricFamily(
            "stream_bytes_in", "Payload bytes received in this publication", labels=["name"]
        )
        bytes_out = CounterMetricFamily(
            "stream_bytes_out",
            "Payload bytes sent to consumers in this publication",
            labels=["name"],
        )
        retries = CounterMetricFamily(
            "stream_retry_count", "Publications after the first one", labels=["name"]
        )
        for stream in self.server.streams:
            label = [stream.name]
            bitrate.add_metric(label, stream.stats.bitrate() if stream.live else 0)
            out_bw.add_metric(label, stream.output_bitrate())
            online.add_metric(label, len(stream.subscriptions))
            clients.add_metric(label, len(stream.subscriptions))
            bytes_in.add_metric(label, stream.stats.bytes_in)
            bytes_out.add_metric(label, stream.bytes_out)
            retries.add_metric(label, max(stream.publications - 1, 0))
        yield from (bitrate, bytes_in, bytes_out, online, clients, out_bw, retries)


def openmetrics_text(server: Any) -> bytes:
    """The per-stream families as OpenMetrics text (ends with ``# EOF``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FlussonicStreamCollector(server))
    return generate_latest(registry)
