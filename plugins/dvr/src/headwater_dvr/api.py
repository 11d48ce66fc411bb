"""``/streamer/api/v3/streams/{name}/dvr/ranges``: list and delete recorded ranges.

``GET`` answers ``{"ranges": [{"from": UTC s, "duration": s}, ...]}`` (Flussonic's
``stream_dvr_ranges_list``) for any name whose settings have ``dvr``, live or gone;
``DELETE`` with a ``{"from": ..., "duration": ...}`` body (Flussonic's ``dvr_range``)
deletes every whole segment that overlaps that range, except one being written, and needs
the API write credentials.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import Body, Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from headwater import check_read_access, check_write_access, name_problem
from headwater_dvr.archive import Archive, range_list
from headwater_dvr.service import service_for

if TYPE_CHECKING:
    from headwater import Server

log = logging.getLogger("headwater.dvr")

PATH = "/streamer/api/v3/streams/{name:path}/dvr/ranges"


class DvrRange(BaseModel):
    """A recorded range: ``from`` (UTC seconds) and ``duration`` (seconds)."""

    start: int = Field(alias="from", ge=0)
    duration: int = Field(gt=0)


def ranges_body(ranges: list[tuple[int, int]]) -> dict[str, Any]:
    """Flussonic's ``stream_dvr_ranges_list``: whole seconds, as :func:`range_list` rounds."""
    return {"ranges": range_list(ranges)}


async def _archive(server: Server, name: str) -> Archive:
    problem = name_problem(name)
    if problem:
        raise HTTPException(400, f"{problem}: {name[:80]!r}")
    found = await service_for(server).archive_of(name)
    if found is None:
        raise HTTPException(404, f"stream {name!r} has no DVR")
    return found[0]


async def list_ranges(request: Request, name: str) -> dict[str, Any]:
    """The recorded ranges of ``name``, oldest first."""
    server = request.app.state.server
    archive = await _archive(server, name)
    return ranges_body(await archive.run(archive.db.ranges, name))


async def delete_range(request: Request, name: str, body: DvrRange = Body(...)) -> Response:
    """Delete the segments of ``name`` that overlap the range in the body."""
    server = request.app.state.server
    archive = await _archive(server, name)
    lo = body.start * 1000
    hi = lo + body.duration * 1000
    rows = await archive.run(archive.db.segments, name, lo, hi)
    segments, freed = await archive.delete(rows)
    service_for(server).count_deleted("api", segments)
    log.info(
        "%s: DVR range %d+%ds deleted through the API (%d segments, %d bytes)",
        name,
        body.start,
        body.duration,
        segments,
        freed,
    )
    return Response(status_code=204)


def api_routes() -> list[APIRoute]:
    """The ranges API routes (placed before the core's ``/streams/{name}`` by the core)."""
    return [
        APIRoute(
            PATH,
            list_ranges,
            methods=["GET"],
            tags=["dvr"],
            dependencies=[Depends(check_read_access)],
        ),
        APIRoute(
            PATH,
            delete_range,
            methods=["DELETE"],
            tags=["dvr"],
            status_code=204,
            dependencies=[Depends(check_write_access)],
            response_class=Response,
        ),
    ]
