"""``/streamer/api/v3/streams``: live and configured streams, their stats, and managing one.

Listing learns Flussonic's ``select``, ``sort``, ``q`` and field filters, and answers in
OpenMetrics text with ``format=openmetrics`` or ``Accept: application/openmetrics-text``.
``PUT``/``DELETE /streams/{name}`` change one configured stream (persisted like ``PUT
/config``); ``POST /streams/{name}/stop`` disconnects its publisher and players.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response

from headwater.hookcall import call_sync_all
from headwater.http.access import check_read_access, check_write_access, who
from headwater.http.collection_query import (
    matches_filters,
    matches_search,
    select_fields,
    sort_items,
)
from headwater.http.config_body import ConfigBody
from headwater.http.stream_view import stream_view
from headwater.play_urls import PlayBase, play_urls

router = APIRouter(prefix="/streamer/api/v3", tags=["streams"])
log = logging.getLogger("headwater.api")

RESERVED = {"limit", "cursor", "name", "select", "sort", "q", "format"}
OPENMETRICS = "application/openmetrics-text"


@router.get("/streams", dependencies=[Depends(check_read_access)])
def list_streams(
    request: Request,
    limit: int = Query(100, ge=1, le=1000, description="Streams per page"),
    cursor: str | None = Query(None, description="The `next` value of the previous page"),
    name: str | None = Query(None, description="Only names containing this text"),
    select: str | None = Query(None, description="Comma-separated (nested) fields to return"),
    sort: str | None = Query(None, description="Comma-separated fields, `-` for descending"),
    q: str | None = Query(None, description="Search in names, titles and input URLs"),
    format: str | None = Query(None, description="`openmetrics` for Prometheus text"),
) -> Any:
    """Streams in name order (or ``sort``), ``limit`` at a time; ``next`` is the cursor."""
    server = request.app.state.server
    accept = request.headers.get("accept", "")
    if format == "openmetrics" or OPENMETRICS in accept:
        from headwater.metrics.flussonic_names import openmetrics_text

        return Response(openmetrics_text(server), media_type=f"{OPENMETRICS}; version=1.0.0")
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    items = [describe(server, s) for s in server.streams if not name or name in s.name]
    if q:
        items = [i for i in items if matches_search(i, q)]
    if filters:
        items = [i for i in items if matches_filters(i, filters)]
    if sort:
        items = sort_items(items, sort)
        start = int(cursor) if cursor and cursor.isdigit() else 0
        page, more = items[start : start + limit], len(items) > start + limit
        next_cursor = str(start + limit) if more else None
    else:
        if cursor:
            items = [i for i in items if i["name"] > cursor]
        page, more = items[:limit], len(items) > limit
        next_cursor = page[-1]["name"] if more and page else None
    fields = [f.strip() for f in select.split(",") if f.strip()] if select else None
    return {
        "estimated_count": len(items),
        "streams": [select_fields(i, fields) for i in page] if fields else page,
        "next": next_cursor,
    }


@router.post(
    "/streams/{name:path}/stop", status_code=204, dependencies=[Depends(check_write_access)]
)
async def stop_stream(request: Request, name: str) -> Response:
    """Disconnect the stream's publisher (its players end with it); 404 when not published."""
    server = request.app.state.server
    publication = server.publications.get(name)
    if publication is None:
        raise HTTPException(404, f"stream {name!r} is not being published")
    publication.stop(f"stopped through the API by {who(request)}")
    return Response(status_code=204)


@router.get("/streams/{name:path}", dependencies=[Depends(check_read_access)])
async def get_stream(request: Request, name: str) -> dict[str, Any]:
    """One stream with its stats and ``play_urls`` (every plugin's ways to watch it).

    404 when no stream has that name. The play URLs use the host the client asked for.
    """
    server = request.app.state.server
    stream = server.streams.get(name)
    if stream is None:
        raise HTTPException(404, f"no stream named {name!r}")
    info = describe(server, stream)
    base = PlayBase.from_url(str(request.base_url))
    info["play_urls"] = [u.describe() for u in await play_urls(server, stream, base)]
    return info


def describe(server: Any, stream: Any) -> dict[str, Any]:
    """:func:`stream_view` with what plugins add to ``stats`` (the ``stream_info`` hook)."""
    info = stream_view(stream)
    for extra in call_sync_all(server.pm.hook.stream_info, server=server, stream=stream):
        info["stats"].update(extra)
    return info


@router.put("/streams/{name:path}", dependencies=[Depends(check_write_access)])
async def put_stream(
    request: Request, name: str, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Create or change one static stream (fields merge into its current config)."""
    from headwater.http.api_config import apply_patch

    server = request.app.state.server
    entry = {k: v for k, v in body.items() if k != "stats"} | {"name": name}
    await apply_patch(server, ConfigBody({"streams": [entry]}))
    stream = server.streams.get(name)
    return describe(server, stream) if stream else {"name": name}


@router.delete("/streams/{name:path}", status_code=204, dependencies=[Depends(check_write_access)])
async def delete_stream(request: Request, name: str) -> Response:
    """Remove a static stream from the config; its publisher, if any, is disconnected."""
    from headwater.http.api_config import apply_patch

    server = request.app.state.server
    if not any(s.name == name for s in server.settings.streams):
        raise HTTPException(404, f"no configured stream named {name!r}")
    await apply_patch(server, ConfigBody({"streams": [{"name": name, "remove": True}]}))
    publication = server.publications.get(name)
    if publication is not None and server.find_settings(name) is None:
        publication.stop(f"stream deleted through the API by {who(request)}")
    return Response(status_code=204)
