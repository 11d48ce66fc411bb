"""HTTP MPEG-TS playback: ``GET /{name}/mpegts`` streams a live stream as TS from a keyframe.

Whatever protocol published the stream, the subscription's frames go through
:class:`TSWriter`; each response chunk holds every frame queued at that moment, so a
player that keeps up gets small chunks and one that lags gets large writes. The core's
play path refuses a bad name (400) and an unknown or idle stream (404).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from headwater import PlayRejected, PlayRequest
from headwater.media.mpegts import TSWriter

if TYPE_CHECKING:
    from headwater import Server

MEDIA_TYPE = "video/mp2t"


async def play_endpoint(server: Server, request: Request) -> Response:
    """Answer with the live TS of ``{name}``, or a refusal status with a one-line reason."""
    client = request.client
    play = PlayRequest(
        proto="mpegts",
        name=request.path_params["name"].strip("/"),
        peer=(client.host, client.port) if client else ("", 0),
        args=dict(request.query_params),
    )
    try:
        server.playable(play)  # refuse with a status before the response starts
    except PlayRejected as exc:
        return PlainTextResponse(exc.reason + "\n", status_code=exc.http_status)
    return StreamingResponse(ts_body(server, play), media_type=MEDIA_TYPE)


async def ts_body(server: Server, play: PlayRequest) -> AsyncIterator[bytes]:
    """TS bytes of the stream from its last keyframe until the publication ends."""
    try:
        async with server.play(play) as sub:
            writer = TSWriter(sub.tracks)
            write = writer.write
            async for frame in sub:
                chunk = write(frame)
                more = sub.drain()
                if more:
                    chunk = b"".join([chunk, *(write(f) for f in more)])
                yield chunk
    except PlayRejected:
        return  # the publisher left between the check and the first chunk: an empty body
