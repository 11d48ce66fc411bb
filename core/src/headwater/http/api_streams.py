"""``/streamer/api/v3/streams``: live streams with their stats, cursor-paged."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from headwater.play_urls import PlayBase, play_urls

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
        "streams": [s.describe() for s in page],
        "next": page[-1].name if more and page else None,
    }


@router.get("/streams/{name:path}")
async def get_stream(request: Request, name: str) -> dict[str, Any]:
    """One stream with its stats and ``play_urls`` (every plugin's ways to watch it).

    404 when no stream has that name. The play URLs use the host the client asked for.
    """
    server = request.app.state.server
    stream = server.streams.get(name)
    if stream is None:
        raise HTTPException(404, f"no stream named {name!r}")
    info = stream.describe()
    base = PlayBase.from_url(str(request.base_url))
    info["play_urls"] = [u.describe() for u in await play_urls(server, stream, base)]
    return info
