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
from starlette.requests import Request
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

    Straight on the ASGI ``receive``: each call hands over every body byte that arrived
    since the last one (uvicorn gathers them), and one cancel scope whose deadline moves
    on with each message bounds the wait, instead of a new scope per chunk.
    """
    receive = request.receive
    feed = reader.feed
    send = publication.send
    add_bytes = publication.add_bytes
    now = anyio.current_time
    with anyio.CancelScope() as scope:
        while True:
            scope.deadline = now() + idle
            message = await receive()
            if message["type"] == "http.disconnect":
                return "client left"
            chunk = message.get("body", b"")
            if chunk:
                add_bytes(len(chunk))
                for event in feed(chunk):
                    if type(event) is Frame:
                        send(event)
            if not message.get("more_body", False):
                return "body ended"
    return f"no data for {idle:g} s"


def _send(publication: Publication, events: list) -> None:
    for event in events:
        if type(event) is Frame:
            publication.send(event)
