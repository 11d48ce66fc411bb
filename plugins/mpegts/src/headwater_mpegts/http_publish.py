"""HTTP MPEG-TS publishing: ``POST``/``PUT /{name}/mpegts`` with a TS body (chunked or sized).

ffmpeg's ``-f mpegts http://host:8080/NAME/mpegts`` sends exactly this: a chunked POST
that lasts as long as the encoder runs. The body goes through :class:`TSReader` into the
publication; the publication ends when the body ends, the client leaves, or nothing
arrives for ``limits.publish_idle_timeout``. Refusals are HTTP statuses (400/401/403/404/
409/503) with a one-line reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from headwater import Frame, PublishRejected, PublishRequest

if TYPE_CHECKING:
    from headwater import Publication, Server

from headwater.media.mpegts import TSReader

log = logging.getLogger("headwater.mpegts")

PROTO = "mpegts"


async def publish_endpoint(server: Server, request: Request) -> Response:
    """Publish the request body under ``{name}``; answer when the publication is over."""
    client = request.client
    publish = PublishRequest(
        proto=PROTO,
        path=request.path_params["name"],
        args=dict(request.query_params),
        peer=(client.host, client.port) if client else ("", 0),
        local_port=request.url.port or 0,
    )
    try:
        async with server.publish(publish) as publication:
            reader = TSReader()
            ended = await _pump(
                request, reader, publication, server.settings.limits.publish_idle_timeout
            )
            _send(publication, reader.flush())
    except PublishRejected as exc:
        return PlainTextResponse(exc.reason + "\n", status_code=exc.http_status)
    counts = f"{reader.packets} packets, {sum(reader.cc_errors.values())} continuity errors"
    log.info("%s: HTTP MPEG-TS publication ended (%s; %s)", publish.name, ended, counts)
    return PlainTextResponse(f"published {publish.name}: {counts}\n")


async def _pump(request: Request, reader: TSReader, publication: Publication, idle: float) -> str:
    """Feed body chunks to the reader until the body ends; return why it stopped.

    One cancel scope bounds every wait, its deadline moved on with each chunk, rather than
    a new scope per chunk (uvicorn hands over every body byte that arrived since the last
    read, so a chunk is often several of the client's writes).
    """
    chunks = request.stream().__aiter__()
    feed = reader.feed
    send = publication.send
    add_bytes = publication.add_bytes
    now = anyio.current_time
    with anyio.CancelScope() as scope:
        try:
            while True:
                scope.deadline = now() + idle
                chunk = await chunks.__anext__()
                add_bytes(len(chunk))
                for event in feed(chunk):
                    if type(event) is Frame:
                        send(event)
        except StopAsyncIteration:
            return "body ended"
        except ClientDisconnect:
            return "client left"
    return f"no data for {idle:g} s"


def _send(publication: Publication, events: list) -> None:
    for event in events:
        if type(event) is Frame:
            publication.send(event)
