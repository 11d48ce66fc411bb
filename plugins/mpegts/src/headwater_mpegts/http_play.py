"""HTTP MPEG-TS playback: ``GET /{name}/mpegts`` streams a live stream as TS from a keyframe.

Whatever protocol published the stream, the subscription's frames go through
:class:`TSWriter`; each response chunk holds every frame queued at that moment, so a
player that keeps up gets small chunks and one that lags gets large writes. 404 when the
stream is unknown or not live.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from headwater.media.mpegts import TSWriter

if TYPE_CHECKING:
    from headwater import Server, Stream

MEDIA_TYPE = "video/mp2t"


async def play_endpoint(server: Server, request: Request) -> Response:
    """Answer with the live TS of ``{name}``, or 404 with a one-line reason."""
    name = request.path_params["name"].strip("/")
    stream = server.streams.get(name)
    if stream is None or not stream.live:
        return PlainTextResponse(f"stream {name!r} is not live\n", status_code=404)
    client = request.client
    who = f"mpegts-play {client.host}:{client.port}" if client else "mpegts-play"
    return StreamingResponse(ts_body(stream, who), media_type=MEDIA_TYPE)


async def ts_body(stream: Stream, who: str) -> AsyncIterator[bytes]:
    """TS bytes of ``stream`` from its last keyframe until the publication ends."""
    async with stream.subscribe(who) as sub:
        writer = TSWriter(sub.tracks)
        write = writer.write
        async for frame in sub:
            chunk = write(frame)
            more = sub.drain()
            if more:
                chunk = b"".join([chunk, *(write(f) for f in more)])
            yield chunk
