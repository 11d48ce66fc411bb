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

The handlers take an :class:`~headwater_hls.hls_path.HLSRequest` and return a
:class:`~headwater_hls.replies.Reply`; :mod:`headwater_hls.front` routes requests to them
ahead of the API's routing. Playlists are rendered once per change of their window and
segments are the bytes the window holds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from headwater import PlayRejected, PlayRequest
from headwater.media.fmp4 import SUPPORTED
from headwater_hls.hls_path import HLSRequest
from headwater_hls.live import HLSHub, LiveHLS
from headwater_hls.play import is_live, playable
from headwater_hls.replies import SEGMENT_TYPE, Reply, playlist, refuse
from headwater_hls.tracks import SelectionError, TrackSelection
from headwater_hls.variants import selection_of, variant_of

if TYPE_CHECKING:
    from headwater import Server
    from headwater.media.frames import Track


log = logging.getLogger("headwater.hls")


def play_request(request: HLSRequest) -> PlayRequest:
    """The core's description of the HTTP client asking for a playlist."""
    return PlayRequest("hls", request.name, request.peer, request.query)


def request_variant(request: HLSRequest) -> str | Reply:
    """The variant a request names (low-latency or not, its ``tracks-SEL`` component), or
    a 404 refusal."""
    selection = request.path.selection
    low_latency = request.path.resource.low_latency
    if selection is None:
        return "ll" if low_latency else ""
    try:
        return variant_of(TrackSelection.parse(selection), low_latency=low_latency)
    except SelectionError as exc:
        return refuse(404, f"stream {request.name!r}: {exc}")


async def ready(hub: HLSHub, request: HLSRequest) -> LiveHLS | Reply:
    """The running HLS of the requested live stream with a segment, or the refusal."""
    name = request.name
    low_latency = request.path.resource.low_latency
    variant = request_variant(request)
    if isinstance(variant, Reply):
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


async def master_pointing_at(hub: HLSHub, request: HLSRequest, uri: str) -> Reply:
    """A master playlist with one variant: the media playlist ``uri`` beside it."""
    live = await ready(hub, request)
    if isinstance(live, Reply):
        return live
    tracks = selected_tracks(hub.server, live)
    return playlist(live.window.master_playlist_bytes(tracks, uri))


async def master(hub: HLSHub, request: HLSRequest) -> Reply:
    """The master playlist: one variant, ``mono.m3u8`` beside it."""
    return await master_pointing_at(hub, request, "mono.m3u8")


async def media(hub: HLSHub, request: HLSRequest) -> Reply:
    """The live media playlist."""
    live = await ready(hub, request)
    if isinstance(live, Reply):
        return live
    return playlist(live.window.media_playlist_bytes())


async def segment(hub: HLSHub, request: HLSRequest) -> Reply:
    """A TS segment of the live HLS (404 once it left the window)."""
    variant = request_variant(request)
    if isinstance(variant, Reply):
        return variant
    live = hub.get(request.name, variant)
    number = request.path.number
    found = live.window.segment(number) if live is not None and number is not None else None
    if live is None or found is None:
        return refuse(404, f"stream {request.name!r} has no HLS segment {request.url_path}")
    live.touch()
    return Reply(200, live.media_headers(SEGMENT_TYPE), found.chunks)


def selected_tracks(server: Server, live: LiveHLS) -> list[Track]:
    """The tracks a running HLS carries (its stream's, live or lingering, as selected)."""
    stream = server.streams.get(live.name)
    tracks = stream.tracks if stream is not None else []
    selection = selection_of(live.variant)
    return selection.resolve(tracks) if selection is not None else list(tracks)
