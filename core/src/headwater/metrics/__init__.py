"""Metrics: Flussonic's per-stream OpenMetrics (``GET /streams?format=openmetrics``) and a
conventional Prometheus endpoint (``GET /metrics``) with ``headwater_*`` families.

Both are read from the server's state at scrape time (custom collectors), so the label
sets are exactly the streams the registry holds: live and configured ones.
"""

from headwater.metrics.collector import ServerCollector, metrics_registry
from headwater.metrics.flussonic_names import FlussonicStreamCollector, openmetrics_text

__all__ = ["FlussonicStreamCollector", "ServerCollector", "metrics_registry", "openmetrics_text"]
