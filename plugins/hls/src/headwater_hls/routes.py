"""The HTTP side of live HLS: Flussonic's URLs, MIME types, caching and CORS headers.

``/{name}/index.m3u8`` (master playlist), ``/{name}/mono.m3u8`` and its alias
``/{name}/video.m3u8`` (media playlist), ``/{name}/mono-{N}.ts`` (segments); the same under
``/{name}/tracks-v1a1/`` for the selected tracks only (:mod:`headwater_hls.tracks`), where
a selection the stream cannot satisfy is a 404 with its reason. Each playlist
request goes through the core's ``server.playable`` (name, existence, live), so a refusal
is the core's, with its status and reason; for one playlist's length after the publisher
leaves, the last playlist is still served so players get the final segments. The first
playlist request of a stream starts its HLS and waits (``playlist_wait`` at most) for the
first segment, which is cut from the stream's cached group of pictures.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from headwater import PlayRejected, PlayRequest
from headwater.media.fmp4 import SUPPORTED
from headwater_hls.live import HLSHub, LiveHLS
from headwater_hls.play import is_live, playable
from headwater_hls.tracks import SelectionError, TrackSelection
from headwater_hls.variants import selection_of, variant_of

if TYPE_CHECKING:
    from headwater import Server
    from headwater.media.frames import Track


log = logging.getLogger("headwater.hls")

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp2t"
CORS = {"Access-Control-Allow-Origin": "*"}
PLAYLIST_HEADERS = {**CORS, "Cache-Control": "no-cache"}


def refuse(status: int, reason: str) -> Response:
    """A refusal with its one-line reason (and the CORS header, so a web player sees it)."""
    return PlainTextResponse(reason + "\n", status_code=status, headers=PLAYLIST_HEADERS)


def stream_name(request: Request) -> str:
    """The stream name of an HLS request (its path before the playlist or segment)."""
    return str(request.path_params["name"]).strip("/")


def play_request(request: Request) -> PlayRequest:
    """The core's description of the HTTP client asking for a playlist."""
    client = request.client
    peer = (client.host, client.port) if client else ("", 0)
    return PlayRequest("hls", stream_name(request), peer, dict(request.query_params))


def request_variant(request: Request, *, low_latency: bool = False) -> str | Response:
    """The variant a request names (low-latency or not, its ``tracks-SEL`` component), or
    a 404 refusal."""
    selection = request.path_params.get("selection")
    try:
        picked = None if selection is None else TrackSelection.parse(selection)
        return variant_of(picked, low_latency=low_latency)
    except SelectionError as exc:
        return refuse(404, f"stream {stream_name(request)!r}: {exc}")


async def ready(hub: HLSHub, request: Request, *, low_latency: bool = False) -> LiveHLS | Response:
    """The running HLS of the requested live stream with a segment, or the refusal."""
    name = stream_name(request)
    variant = request_variant(request, low_latency=low_latency)
    if isinstance(variant, Response):
        return variant
    live = hub.get(name, variant)
    if live is not None and not is_live(hub.server, name) and live.lingering():
        live.touch()  # the publisher just left: its last segments are still served
        return live
    try:
        stream = playable(hub.server, play_request(request))
    except PlayRejected as exc:
        return refuse(exc.http_status, exc.reason)
    selection = selection_of(variant)
    if selection is not None:
        try:
            selection.check(stream.tracks)
        except SelectionError as exc:
            log.info("HLS of %s refused: %s", name, exc)
            return refuse(404, f"stream {name!r}: {exc}")
    if low_latency:
        tracks = selection.resolve(stream.tracks) if selection else stream.tracks
        if tracks and not any(t.codec in SUPPORTED for t in tracks):
            have = ", ".join(sorted({t.codec.value for t in tracks}))
            reason = f"low-latency HLS carries H.264, H.265 and AAC; stream has {have}"
            log.info("HLS of %s refused: %s", name, reason)
            return refuse(404, f"stream {name!r}: {reason}")
    live = hub.start(name, variant)
    live.touch()
    wait = hub.settings.playlist_wait
    if not await live.wait_for_segment(wait):
        return refuse(503, f"stream {name!r} sent no keyframe in {wait:g}s; try again")
    if low_latency and not await live.wait_for(lambda: live.window.has_complete_segment, wait):
        # a player that ignores parts (ffmpeg, older players) needs a whole segment
        return refuse(503, f"stream {name!r} sent no second keyframe in {wait:g}s; try again")
    return live


def routes(server: Server, hub: HLSHub) -> list[Route]:
    """The live HLS routes of ``server``."""

    async def master(request: Request) -> Response:
        """The master playlist: one variant, ``mono.m3u8`` beside it."""
        live = await ready(hub, request)
        if isinstance(live, Response):
            return live
        text = live.window.master_playlist(selected_tracks(server, live), "mono.m3u8")
        return Response(text, media_type=PLAYLIST_TYPE, headers=PLAYLIST_HEADERS)

    async def media(request: Request) -> Response:
        """The live media playlist."""
        live = await ready(hub, request)
        if isinstance(live, Response):
            return live
        return Response(
            live.window.media_playlist(), media_type=PLAYLIST_TYPE, headers=PLAYLIST_HEADERS
        )

    async def segment(request: Request) -> Response:
        """A TS segment of the live HLS (404 once it left the window)."""
        name = stream_name(request)
        variant = request_variant(request)
        if isinstance(variant, Response):
            return variant
        live = hub.get(name, variant)
        found = live.window.segment(request.path_params["seq"]) if live is not None else None
        if live is None or found is None:
            return refuse(404, f"stream {name!r} has no HLS segment {request.url.path}")
        live.touch()
        lifetime = int(live.settings.segment_duration * (live.settings.segment_count + 2))
        headers = {**CORS, "Cache-Control": f"public, max-age={max(lifetime, 1)}"}
        return Response(found.data, media_type=SEGMENT_TYPE, headers=headers)

    tracks = "/{name:path}/tracks-{selection}"
    return [
        # the track-selecting URLs first: ``/{name:path}/mono.m3u8`` would take them whole
        Route(tracks + "/index.m3u8", master, methods=["GET"]),
        Route(tracks + "/mono.m3u8", media, methods=["GET"]),
        Route(tracks + "/video.m3u8", media, methods=["GET"]),
        Route(tracks + "/mono-{seq:int}.ts", segment, methods=["GET"]),
        Route("/{name:path}/index.m3u8", master, methods=["GET"]),
        Route("/{name:path}/mono.m3u8", media, methods=["GET"]),
        Route("/{name:path}/video.m3u8", media, methods=["GET"]),
        Route("/{name:path}/mono-{seq:int}.ts", segment, methods=["GET"]),
    ]


def selected_tracks(server: Server, live: LiveHLS) -> list[Track]:
    """The tracks a running HLS carries (its stream's, live or lingering, as selected)."""
    stream = server.streams.get(live.name)
    tracks = stream.tracks if stream is not None else []
    selection = selection_of(live.variant)
    return selection.resolve(tracks) if selection is not None else list(tracks)
