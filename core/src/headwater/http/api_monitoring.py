"""``/streamer/api/v3/monitoring``: liveness for load balancers and orchestrators."""

from __future__ import annotations

import importlib.metadata
import time
from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(prefix="/streamer/api/v3/monitoring", tags=["monitoring"])


@router.get("/liveness")
def liveness(request: Request) -> dict[str, Any]:
    """Answers 200 while the server runs, with its version and uptime."""
    server = request.app.state.server
    return {
        "status": "ok",
        "server_version": importlib.metadata.version("headwater"),
        "uptime": int(time.time() - server.started_at),
        "streams": len(server.streams),
        "live_streams": server.streams.live_count(),
        "connections": server.connection_limits.stats(),
        "buffered_bytes": server.buffers.held,
        "buffer_evictions": server.buffers.evicted,
    }
