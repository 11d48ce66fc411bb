"""``/streamer/api/v3/streams``: live streams with their stats, cursor-paged."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from headwater.hookcall import call_sync_all

router = APIRouter(prefix="/streamer/api/v3", tags=["streams"])


@router.get("/streams")
def list_streams(
    request: Request,
    limit: int = Query(100, ge=1, le=1000, description="Streams per page"),
    cursor: str | None = Query(None, description="The `next` value of the previous page"),
    name: str | None = Query(None, description="Only names containing this text"),
) -> dict[str, Any]:
    """Streams in name order, ``limit`` at a time; ``next`` is the cursor of the next page."""
    server = request.app.state.server
    streams = [s for s in server.streams if not name or name in s.name]
    if cursor:
        streams = [s for s in streams if s.name > cursor]
    page = streams[:limit]
    more = len(streams) > limit
    return {
        "estimated_count": len(streams),
        "streams": [describe(server, s) for s in page],
        "next": page[-1].name if more and page else None,
    }


@router.get("/streams/{name:path}")
def get_stream(request: Request, name: str) -> dict[str, Any]:
    """One stream with its stats; 404 when no stream has that name."""
    server = request.app.state.server
    stream = server.streams.get(name)
    if stream is None:
        raise HTTPException(404, f"no stream named {name!r}")
    return describe(server, stream)


def describe(server: Any, stream: Any) -> dict[str, Any]:
    """``stream.describe()`` with what plugins add to ``stats`` (the ``stream_info`` hook)."""
    info = stream.describe()
    for extra in call_sync_all(server.pm.hook.stream_info, server=server, stream=stream):
        info["stats"].update(extra)
    return info
