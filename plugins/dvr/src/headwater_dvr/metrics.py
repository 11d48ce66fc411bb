"""The DVR's Prometheus families for ``GET /metrics`` (the ``metrics`` hook).

Read from the archives' in-memory summaries at scrape time, never from the database: one
sample per stream with an archive (label ``name``; bounded by retention), and the segments
deleted since start by rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from headwater_dvr.service import service_for

if TYPE_CHECKING:
    from headwater import Server


def dvr_families(server: Server) -> list[Metric]:
    """``headwater_dvr_*`` families of ``server``'s archives."""
    service = service_for(server)
    size = GaugeMetricFamily("headwater_dvr_bytes", "Bytes of a stream's archive", labels=["name"])
    segments = GaugeMetricFamily(
        "headwater_dvr_segments", "Segments in a stream's archive", labels=["name"]
    )
    depth = GaugeMetricFamily(
        "headwater_dvr_depth_seconds",
        "Seconds from the start of a stream's first recording to the end of its last",
        labels=["name"],
    )
    recorded = GaugeMetricFamily(
        "headwater_dvr_recorded_seconds",
        "Seconds recorded in a stream's archive, gaps left out",
        labels=["name"],
    )
    for archive in list(service.archives.values()):
        for name, summary in list(archive.summaries.items()):
            size.add_metric([name], summary.bytes)
            segments.add_metric([name], summary.segments)
            if summary.ranges:
                first, last = summary.ranges[0][0], summary.ranges[-1][1]
                depth.add_metric([name], (last - first) / 1000)
                recorded.add_metric([name], sum(e - s for s, e in summary.ranges) / 1000)
    deleted = CounterMetricFamily(
        "headwater_dvr_deleted_segments",
        "Segments deleted since start, by retention rule or through the API",
        labels=["rule"],
    )
    for rule, count in sorted(service.deleted.items()):
        deleted.add_metric([rule], count)
    return [size, segments, depth, recorded, deleted]
