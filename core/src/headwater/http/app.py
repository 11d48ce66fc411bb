"""Builds the one ASGI app: API routers, plugin routes, the web page."""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute, Match

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
    app.state.front_routes = [r for r in plugin_routes if r not in api and _is_front(r)]
    return app


def serving_app(server: Server) -> Any:
    """The ASGI app the HTTP listener serves: :func:`build_app`, with the plugin routes
    marked ``front`` answered before it (see :class:`FrontRoutes`)."""
    app = build_app(server)
    front = app.state.front_routes
    return FrontRoutes(app, front) if front else app


def _is_front(route: BaseRoute) -> bool:
    return bool(getattr(route, "front", False))


class FrontRoutes:
    """Plugin routes with a true ``front`` attribute, tried before the app's middleware and
    routing for every request outside the API: a hot path (live HLS playlists and segments,
    many requests a second) then costs one ``matches`` call, not FastAPI's middleware stack
    and a scan of every API route. Such a route matches only its own paths; a partial match
    (a method the route does not take) goes on to the app, which answers it as before. The
    same routes stay in the app's router too (after the API and the web page), for callers
    of :func:`build_app`."""

    def __init__(self, app: Any, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Hand the request to the first front route that matches it, else to the app."""
        if scope["type"] == "http" and not scope["path"].startswith(API_PREFIX):
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    await route.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)


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
