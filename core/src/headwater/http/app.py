"""Builds the one ASGI app: API routers, plugin routes, the web page."""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from headwater.hookcall import call_sync_all
from headwater.http import (
    api_config,
    api_metrics,
    api_monitoring,
    api_streams,
    api_templates,
    ui,
    ui_stream,
)
from headwater.http.api_guard import API_PREFIX, APIGuard

if TYPE_CHECKING:
    from headwater.server import Server


def build_app(server: Server) -> FastAPI:
    """The FastAPI app for ``server``; OpenAPI at ``/docs`` and ``/openapi.json``."""
    app = FastAPI(
        title="headwater",
        version=importlib.metadata.version("headwater"),
        description="Live-video ingest server API (Flussonic API v3 field names).",
    )
    app.state.server = server
    plugin_routes = [
        r for rs in call_sync_all(server.pm.hook.http_routes, server=server) for r in rs
    ]
    # plugin routes under the API prefix (``/streams/{name}/dvr/ranges``) go first, so the
    # core's ``/streams/{name}`` does not swallow them; every other plugin route goes last
    api = [r for r in plugin_routes if getattr(r, "path", "").startswith(API_PREFIX)]
    app.router.routes.extend(api)
    app.include_router(api_streams.router)
    app.include_router(api_config.router)
    app.include_router(api_templates.router)
    app.include_router(api_monitoring.router)
    app.include_router(api_metrics.router)
    app.include_router(ui.router)
    app.include_router(ui_stream.router)
    app.router.routes.extend(r for r in plugin_routes if r not in api)
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_middleware(APIGuard, server=server)
    return app


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A request FastAPI could not parse, in the API's error shape (one entry per problem)."""
    errors = [
        {
            "path": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "invalid")),
        }
        for error in exc.errors()
    ]
    return JSONResponse({"detail": {"errors": errors}}, status_code=422)
