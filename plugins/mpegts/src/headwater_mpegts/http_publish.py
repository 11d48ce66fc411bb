"""HTTP MPEG-TS publishing: ``POST``/``PUT /{name}/mpegts`` with a TS body (chunked or sized).

ffmpeg's ``-f mpegts http://host:8080/NAME/mpegts`` sends exactly this: a chunked POST
that lasts as long as the encoder runs. The body goes through :class:`TSReader` into the
publication; the publication ends when the body ends, the client leaves, or nothing
arrives for ``limits.publish_idle_timeout``. Refusals are HTTP statuses (400/401/403/404/
409/503) with a one-line reason.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from headwater import Frame, PublishRejected, PublishRequest, shown

if TYPE_CHECKING:
    from headwater import Publication, Server

from headwater.media.mpegts import TSReader
from headwater.media.mpegts.packet import PACKET_SIZE, SYNC_BYTE

log = logging.getLogger("headwater.mpegts")

PROTO = "mpegts"
PROBE_BYTES = 1 << 20
"""Body bytes read for MPEG-TS sync before a publication is refused as not MPEG-TS."""


async def publish_endpoint(server: Server, request: Request) -> Response:
    """Publish the request body under ``{name}``; answer when the publication is over.

    The name is claimed only once the body has shown MPEG-TS: :data:`SYNC_RUN` sync bytes a
    packet apart within :data:`PROBE_BYTES` and ``limits.message_timeout``. Anything else is
    refused (400, or 408 when nothing came) and the name was never held.
    """
    client = request.client
    publish = PublishRequest(
        proto=PROTO,
        path=request.path_params["name"],
        args=dict(request.query_params),
        peer=(client.host, client.port) if client else ("", 0),
        local_port=request.url.port or 0,
    )
    limits = server.settings.limits
    chunks = request.stream().__aiter__()
    head, problem = await _probe(chunks, float(limits.message_timeout))
    if problem is not None:
        status, reason = problem
        log.warning(
            "refused %s publish from %s (%s): %s",
            PROTO,
            publish.ip,
            shown(publish.path),
            reason,
        )
        return PlainTextResponse(reason + "\n", status_code=status)
    try:
        async with server.publish(publish) as publication:
            reader = TSReader()
            publication.add_bytes(len(head))
            _send(publication, reader.feed(head))
            del head
            ended = await _pump(chunks, reader, publication, limits.publish_idle_timeout)
            _send(publication, reader.flush())
    except PublishRejected as exc:
        return PlainTextResponse(exc.reason + "\n", status_code=exc.http_status)
    counts = f"{reader.packets} packets, {sum(reader.cc_errors.values())} continuity errors"
    log.info("%s: HTTP MPEG-TS publication ended (%s; %s)", publish.name, ended, counts)
    return PlainTextResponse(f"published {publish.name}: {counts}\n")


async def _probe(
    chunks: AsyncIterator[bytes], timeout: float
) -> tuple[bytes, tuple[int, str] | None]:
    """Read the body until it shows MPEG-TS sync; return what was read, or why not.

    At most :data:`PROBE_BYTES` (plus one chunk) are held, and each byte is looked at a
    bounded number of times however the body is split.
    """
    buf = bytearray()
    start = 0
    with anyio.move_on_after(timeout):
        while len(buf) < PROBE_BYTES:
            try:
                chunk = await chunks.__anext__()
            except (StopAsyncIteration, ClientDisconnect):
                return b"", (400, "the body ended before any MPEG-TS packet")
            buf += chunk
            found, start = _find_sync(buf, start)
            if found >= 0:
                return bytes(buf[found:]), None
        return b"", (400, f"no MPEG-TS packets in the first {len(buf)} bytes of the body")
    if not buf:
        return b"", (408, f"no data within {timeout:g}s")
    return b"", (400, f"no MPEG-TS packets within {timeout:g}s ({len(buf)} bytes)")


SYNC_RUN = 5
"""Packets in a row whose sync bytes the probe wants: random bytes show three in a row
within a megabyte about once in sixteen, five almost never (2^-40 per offset)."""
_SPAN = (SYNC_RUN - 1) * PACKET_SIZE


def _find_sync(buf: bytearray, start: int) -> tuple[int, int]:
    """The first offset from ``start`` with a sync byte there and at each of the next
    ``SYNC_RUN - 1`` packets, or -1; and where the next search must start (nothing before
    it can match)."""
    n = len(buf)
    pos = buf.find(SYNC_BYTE, start)
    while pos >= 0 and pos + _SPAN < n:
        if all(buf[pos + k * PACKET_SIZE] == SYNC_BYTE for k in range(1, SYNC_RUN)):
            return pos, pos
        pos = buf.find(SYNC_BYTE, pos + 1)
    return -1, pos if pos >= 0 else n


async def _pump(
    chunks: AsyncIterator[bytes], reader: TSReader, publication: Publication, idle: float
) -> str:
    """Feed body chunks to the reader until the body ends; return why it stopped."""
    feed = reader.feed
    send = publication.send
    add_bytes = publication.add_bytes
    try:
        while True:
            with anyio.move_on_after(idle):
                chunk = await chunks.__anext__()
                add_bytes(len(chunk))
                for event in feed(chunk):
                    if type(event) is Frame:
                        send(event)
                continue
            return f"no data for {idle:g} s"
    except StopAsyncIteration:
        return "body ended"
    except ClientDisconnect:
        return "client left"


def _send(publication: Publication, events: list) -> None:
    for event in events:
        if type(event) is Frame:
            publication.send(event)
