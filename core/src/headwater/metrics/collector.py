"""``headwater_*`` metrics for Prometheus (``GET /metrics``), plus process CPU and memory.

Gauges and counters are read from the server at scrape time; totals that outlive a
stream (refusals, bytes of ended publications) come from ``server.tallies``. Plugins add
their own families through the ``metrics`` hook (the DVR archiver its bytes on disk).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from headwater.errors import Refusal
from headwater.hookcall import call_sync_all
from headwater.metrics.per_stream import PerStream, per_stream_families
from headwater.stream import Stream
from headwater.telemetry import tallies_of


def _drops(s: Stream) -> float:
    return s.dropped_total + sum(x.dropped for x in s.subscriptions)


PER_STREAM: tuple[PerStream, ...] = (
    PerStream(
        "headwater_stream_bytes_in",
        "counter",
        "Payload bytes received, this publication",
        lambda s: s.stats.bytes_in,
    ),
    PerStream(
        "headwater_stream_input_bitrate_kbps",
        "gauge",
        "Input bitrate",
        lambda s: s.stats.bitrate() if s.live else 0,
    ),
    PerStream(
        "headwater_stream_consumers",
        "gauge",
        "Consumers reading the stream",
        lambda s: len(s.subscriptions),
    ),
    PerStream(
        "headwater_stream_dropped_frames",
        "counter",
        "Frames consumers lost to falling behind",
        _drops,
    ),
)
"""The ``headwater_stream_*`` families, one sample per stream."""


class ServerCollector(Collector):
    """The server's streams, publishers, traffic, drops, refusals and backend errors."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        """Read the server now."""
        server = self.server
        tallies = tallies_of(server)
        streams = list(server.streams)
        live = [s for s in streams if s.live]
        g = GaugeMetricFamily("headwater_streams", "Streams in the registry", labels=["state"])
        g.add_metric(["live"], len(live))
        g.add_metric(["idle"], len(streams) - len(live))
        yield g
        by_proto = Counter(str(s.publisher.get("proto", "")) for s in live)
        g = GaugeMetricFamily("headwater_publishers", "Publishers by protocol", labels=["proto"])
        for proto, count in sorted(by_proto.items()):
            g.add_metric([proto], count)
        yield g
        c = CounterMetricFamily(
            "headwater_publications", "Publications started, by protocol", labels=["proto"]
        )
        for proto, count in sorted(tallies.publications.items()):
            c.add_metric([proto], count)
        yield c
        yield CounterMetricFamily(
            "headwater_bytes_in",
            "Payload bytes received from publishers",
            value=tallies.bytes_in_ended + sum(s.stats.bytes_in for s in live),
        )
        yield CounterMetricFamily(
            "headwater_bytes_out",
            "Payload bytes taken by consumers (players, recorders, pushes)",
            value=tallies.bytes_out_ended + sum(s.bytes_out for s in live),
        )
        yield from per_stream_families(PER_STREAM, streams)
        c = CounterMetricFamily(
            "headwater_refusals", "Publications refused, by reason", labels=["reason"]
        )
        for refusal in Refusal:
            c.add_metric([str(refusal)], tallies.refusals.get(str(refusal), 0))
        yield c
        srt_lost = tallies.srt_lost_ended + sum(
            int(s.input_stats().get("srt_lost", 0)) for s in live if s.input_stats is not None
        )
        yield CounterMetricFamily(
            "headwater_srt_packets_lost", "SRT packets reported lost by receivers", value=srt_lost
        )
        yield CounterMetricFamily(
            "headwater_config_backend_errors",
            "Failed polls of the config backend",
            value=tallies.backend_errors,
        )
        sinks = getattr(getattr(server, "events", None), "sinks", [])
        g = GaugeMetricFamily(
            "headwater_event_sink_queued", "Events waiting for a sink", labels=["sink"]
        )
        d = CounterMetricFamily(
            "headwater_event_sink_dropped",
            "Events a sink lost to its queue limit",
            labels=["sink"],
        )
        for sink in sinks:
            g.add_metric([sink.settings.name], len(sink.queue))
            d.add_metric([sink.settings.name], sink.dropped)
        yield from (g, d)
        yield from _limit_families(server)
        for families in call_sync_all(server.pm.hook.metrics, server=server):
            yield from families


def _limit_families(server: Any) -> Iterator[Metric]:
    """Connections open and refused per listener, bytes held for unfinished messages."""
    gates = server.connection_limits.gates
    g = GaugeMetricFamily(
        "headwater_connections", "Client connections open, by listener", labels=["listener"]
    )
    c = CounterMetricFamily(
        "headwater_connections_refused",
        "Connections refused by a connection limit, by listener",
        labels=["listener"],
    )
    for name, gate in sorted(gates.items()):
        g.add_metric([name], gate.open)
        c.add_metric([name], gate.refused)
    yield from (g, c)
    yield GaugeMetricFamily(
        "headwater_buffered_bytes",
        "Bytes held for messages peers have not finished",
        value=server.buffers.held,
    )
    yield CounterMetricFamily(
        "headwater_buffer_evictions",
        "Connections closed because the bytes held for unfinished messages passed the limit",
        value=server.buffers.evicted,
    )


def metrics_registry(server: Any) -> CollectorRegistry:
    """A registry of its own for one server: the server's families and the process's."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(server))
    ProcessCollector(registry=registry)
    return registry
