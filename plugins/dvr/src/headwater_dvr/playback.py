"""Archive playback over HTTP, with Flussonic's URLs.

- ``GET /{name}/archive-{from}-{duration}.m3u8`` (and the legacy alias
  ``index-{from}-{duration}.m3u8``): an HLS playlist of the recording between ``from``
  (UTC seconds) and ``from + duration``: a VOD playlist, or with ``now`` as the duration
  an EVENT playlist up to the present that grows while the stream records. Every segment
  carries ``EXT-X-PROGRAM-DATE-TIME``; a gap or a new publication gets
  ``EXT-X-DISCONTINUITY``. It lists every whole segment that overlaps the window (segments
  start at keyframes, so the playlist may begin up to one segment early).
- ``GET /{name}/dvr/{start_ms}.ts``: one segment, found through the index (a URL never
  becomes a file path).
- ``GET /{name}/archive-{from}-{duration}.ts``: the same segments as one MPEG-TS download.

Bad numbers or a window over ``MAX_WINDOW`` answer 400, a name with no archive or a
window with no recording 404, each with a one-line reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiofiles
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from headwater import name_problem
from headwater.media.hls import MediaPlaylist, Segment, render_media_playlist
from headwater_dvr.archive import Archive
from headwater_dvr.index import GAP_MS, SegmentRow
from headwater_dvr.service import service_for

if TYPE_CHECKING:
    from headwater import Server

log = logging.getLogger("headwater.dvr")

MAX_WINDOW = 86400
"""Longest window (seconds) one playlist or download may cover."""
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
TS_TYPE = "video/mp2t"
READ_CHUNK = 1 << 20


class BadRequest(Exception):
    """A request that cannot be answered; ``status`` and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Window:
    """A requested time window: ``[lo_ms, hi_ms)``; ``now`` for an open-ended EVENT window."""

    lo_ms: int
    hi_ms: int
    now: bool


def parse_window(start: str, duration: str, now: float) -> Window:
    """``from`` and ``duration`` as the URL gives them; raise BadRequest(400) when wrong."""
    if not start.isdigit():
        raise BadRequest(400, f"'from' must be UTC seconds, not {start[:20]!r}")
    lo = int(start)
    if duration == "now":
        if lo > now:
            raise BadRequest(400, f"'from' ({lo}) is in the future")
        if now - lo > MAX_WINDOW:
            raise BadRequest(400, f"a window is at most {MAX_WINDOW} s long")
        return Window(lo * 1000, int(now * 1000) + 1, True)
    if not duration.isdigit() or int(duration) == 0:
        raise BadRequest(400, f"'duration' must be seconds > 0 or 'now', not {duration[:20]!r}")
    if int(duration) > MAX_WINDOW:
        raise BadRequest(400, f"a window is at most {MAX_WINDOW} s long, not {duration}")
    return Window(lo * 1000, (lo + int(duration)) * 1000, False)


def archive_playlist(rows: list[SegmentRow], target: float, *, event: bool, ended: bool) -> str:
    """The HLS playlist of ``rows`` (segment URIs relative to the playlist's folder)."""
    segments = []
    previous: SegmentRow | None = None
    for row in rows:
        gap = previous is not None and row.start_ms - previous.end_ms > GAP_MS
        segments.append(
            Segment(
                uri=f"dvr/{row.start_ms}.ts",
                duration=row.duration_ms / 1000,
                date_time=row.start_ms / 1000,
                discontinuity=previous is not None and (gap or row.discontinuity),
            )
        )
        previous = row
    return render_media_playlist(
        MediaPlaylist(
            segments,
            target=target,
            ended=ended,
            playlist_type="EVENT" if event else "VOD",
        )
    )


async def _archive(server: Server, name: str) -> tuple[Archive, float]:
    problem = name_problem(name)
    if problem:
        raise BadRequest(400, f"{problem}: {name[:80]!r}")
    found = await service_for(server).archive_of(name)
    if found is None:
        raise BadRequest(404, f"stream {name!r} has no DVR")
    archive, dvr = found
    return archive, dvr.segment_duration


async def _rows(server: Server, request: Request) -> tuple[str, Archive, float, Window, list]:
    params = request.path_params
    name = params["name"].strip("/")
    archive, target = await _archive(server, name)
    window = parse_window(params["start"], params["duration"], time.time())
    rows = await archive.run(archive.db.segments, name, window.lo_ms, window.hi_ms)
    if not rows and not window.now:
        raise BadRequest(
            404,
            f"no recording of {name!r} between {window.lo_ms // 1000} and {window.hi_ms // 1000}",
        )
    return name, archive, target, window, rows


async def playlist_endpoint(server: Server, request: Request) -> Response:
    """``archive-{from}-{duration}.m3u8`` and ``index-{from}-{duration}.m3u8``."""
    try:
        name, _, target, window, rows = await _rows(server, request)
    except BadRequest as exc:
        return _refuse(request, exc)
    stream = server.streams.get(name)
    recording = stream is not None and stream.live
    text = archive_playlist(rows, target, event=window.now, ended=not (window.now and recording))
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "no-cache"})


async def segment_endpoint(server: Server, request: Request) -> Response:
    """``dvr/{start_ms}.ts``: one indexed segment."""
    name = request.path_params["name"].strip("/")
    start = request.path_params["start"]
    try:
        archive, _target = await _archive(server, name)
        if not start.isdigit():
            raise BadRequest(400, f"a segment is named by its start in ms, not {start[:20]!r}")
        row = await archive.run(archive.db.segment, name, int(start))
        if row is None or not row.complete:
            raise BadRequest(404, f"{name!r} has no segment starting at {start}")
    except BadRequest as exc:
        return _refuse(request, exc)
    return FileResponse(archive.root / row.path, media_type=TS_TYPE)


async def download_endpoint(server: Server, request: Request) -> Response:
    """``archive-{from}-{duration}.ts``: the window's segments as one TS file."""
    try:
        name, archive, _target, window, rows = await _rows(server, request)
        if not rows:
            raise BadRequest(404, f"no recording of {name!r} since {window.lo_ms // 1000}")
    except BadRequest as exc:
        return _refuse(request, exc)
    base = name.rsplit("/", 1)[-1]
    filename = f"{base}-{request.path_params['start']}-{request.path_params['duration']}.ts"
    return StreamingResponse(
        _concatenate(archive, rows),
        media_type=TS_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(sum(r.bytes for r in rows)),
        },
    )


async def _concatenate(archive: Archive, rows: list[SegmentRow]) -> AsyncIterator[bytes]:
    for row in rows:
        async with aiofiles.open(archive.root / row.path, "rb") as source:
            remaining = row.bytes
            while remaining > 0:
                chunk = await source.read(min(READ_CHUNK, remaining))
                if not chunk:
                    raise OSError(f"{row.path} is shorter than the index says")
                remaining -= len(chunk)
                yield chunk


def _refuse(request: Request, exc: BadRequest) -> Response:
    client = request.client.host if request.client else "?"
    log.info("refused DVR request %s from %s: %s", request.url.path, client, exc.reason)
    return PlainTextResponse(exc.reason + "\n", status_code=exc.status)


def playback_routes(server: Server) -> list[Route]:
    """The archive playback routes of ``server``."""

    async def playlist(request: Request) -> Response:
        return await playlist_endpoint(server, request)

    async def segment(request: Request) -> Response:
        return await segment_endpoint(server, request)

    async def download(request: Request) -> Response:
        return await download_endpoint(server, request)

    return [
        Route("/{name:path}/archive-{start}-{duration}.m3u8", playlist, methods=["GET"]),
        Route("/{name:path}/index-{start}-{duration}.m3u8", playlist, methods=["GET"]),
        Route("/{name:path}/archive-{start}-{duration}.ts", download, methods=["GET"]),
        Route("/{name:path}/dvr/{start}.ts", segment, methods=["GET"]),
    ]
