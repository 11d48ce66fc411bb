"""``GET /metrics``: the Prometheus endpoint (text format, or OpenMetrics when asked)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import generate_latest as text_format
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS_TYPE
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_format

from headwater.http.access import check_read_access

router = APIRouter(tags=["metrics"])


@router.get("/metrics", dependencies=[Depends(check_read_access)])
def metrics(request: Request) -> Response:
    """``headwater_*`` families and ``process_*`` CPU and memory, read at scrape time."""
    app = request.app
    registry = getattr(app.state, "metrics_registry", None)
    if registry is None:
        from headwater.metrics import metrics_registry

        registry = app.state.metrics_registry = metrics_registry(app.state.server)
    if "application/openmetrics-text" in request.headers.get("accept", ""):
        return Response(openmetrics_format(registry), media_type=OPENMETRICS_TYPE)
    return Response(text_format(registry), media_type=CONTENT_TYPE_LATEST)
