"""Per-stream metric families from a table: name, kind, help, and how to read a stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from headwater.stream import Stream


@dataclass(frozen=True, slots=True)
class PerStream:
    """One family with a sample per stream (label ``name``)."""

    name: str
    kind: Literal["gauge", "counter"]
    help: str
    read: Callable[[Stream], float]


def per_stream_families(table: tuple[PerStream, ...], streams: list[Stream]) -> list[Metric]:
    """The families of ``table``, each with one sample per stream."""
    out: list[Metric] = []
    for spec in table:
        family_type = GaugeMetricFamily if spec.kind == "gauge" else CounterMetricFamily
        family = family_type(spec.name, spec.help, labels=["name"])
        for stream in streams:
            family.add_metric([stream.name], spec.read(stream))
        out.append(family)
    return out
