"""HTTP MPEG-TS publishing: ``POST``/``PUT /{name}/mpegts`` with a TS body (chunked or sized).

ffmpeg's ``-f mpegts http://host:8080/NAME/mpegts`` sends exactly this: a chunked POST
that lasts as long as the encoder runs. The body goes through :class:`TSReader` into the
publication; the publication ends when the body ends, the client leaves, or nothing
arrives for ``limits.publish_idle_timeout``. Refusals are HTTP statuses (400/401/403/404/
409/503) with a one-line reason.

The body is read in batches: ffmpeg sends one small chunk per muxed frame (some 37 a second
at 4 Mbit/s), and each would otherwise cost a socket read, a parse pass, a wake-up of this
task and a small demuxer feed. After a read of less than :data:`BATCH_BYTES` the
connection stops reading for ``mpegts.read_interval`` (the HTTP server's
``headwater.pause_reading`` extension), so the kernel gathers the next chunks and the
demuxer gets them as one slice; a bigger read is followed by the next at once, so
throughput is never limited, and no byte waits longer than the interval.

Under headwater's own HTTP server the body does not go through ASGI ``receive()`` once the
publication is admitted: the route hands the rest of it to a
:class:`~headwater_mpegts.ts_sink.TSBodySink` (the ``headwater.body_sink`` scope
extension), which demuxes each read from the connection's ``data_received`` and pauses
reading until the next tick of one :class:`~headwater_mpegts.read_tick.ReadTick` shared by
all publishers; the route's task only waits for the end. Under another ASGI server the
``receive()`` pump below does the same work.
"""

from __future__ import annotations

import logging
from asyncio import get_running_loop, sleep
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from headwater import Frame, PublishRejected, PublishRequest, shown

if TYPE_CHECKING:
    from headwater import Publication, Server

from headwater.media.mpegts import TSReader
from headwater.media.mpegts.packet import PACKET_SIZE, SYNC_BYTE
from headwater_mpegts.read_tick import ReadTick
from headwater_mpegts.ts_sink import TSBodySink

log = logging.getLogger("headwater.mpegts")

PROTO = "mpegts"
BATCH_BYTES = 64 << 10
"""A read smaller than this is followed by a pause of ``mpegts.read_interval`` (the HTTP
server hands over everything it has buffered, and stops reading by itself above 64 KiB:
a read this big may have left more waiting)."""
PROBE_BYTES = 1 << 20
"""Body bytes read for MPEG-TS sync before a publication is refused as not MPEG-TS."""
IDLE_SLACK = 0.1
"""How far past ``limits.publish_idle_timeout`` the publish pump's deadline is set when it
moves it (as a share of the timeout): moving a cancel scope's deadline reschedules its
timer, which cost some 3 % of the server when done on every read."""

PAUSE_READING = "headwater.pause_reading"
"""The ASGI scope extension of headwater's HTTP server that stops reading the connection
until the next ``receive()`` (docs/plugins.md); absent under another ASGI server."""
BODY_SINK = "headwater.body_sink"
"""The ASGI scope extension of headwater's HTTP server that hands the rest of a request body
to a sink, read by read (docs/plugins.md); absent under another ASGI server."""

Receive = Callable[[], Awaitable[dict[str, Any]]]


class _Body:
    """The request body from ASGI ``receive``: the next piece, until it ends or the client
    leaves (:attr:`ended` says which)."""

    __slots__ = ("ended", "receive")

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.ended: str | None = None
        """``"body ended"`` or ``"client left"`` once there is no more to read."""

    async def next(self) -> bytes:
        """The bytes that arrived since the last call (b"" once :attr:`ended` is set)."""
        if self.ended is not None:
            return b""
        message = await self.receive()
        if message["type"] != "http.request":
            self.ended = "client left"
            return b""
        if not message.get("more_body", False):
            self.ended = "body ended"
        return message.get("body", b"")


async def publish_endpoint(
    server: Server, request: Request, ticks: dict[float, ReadTick] | None = None
) -> Response:
    """Publish the request body under ``{name}``; answer when the publication is over.

    The name is claimed only once the body has shown MPEG-TS: :data:`SYNC_RUN` sync bytes a
    packet apart within :data:`PROBE_BYTES` and ``limits.message_timeout``. Anything else is
    refused (400, or 408 when nothing came) and the name was never held.

    ``ticks`` holds the server's shared read ticks by interval (the plugin keeps one per
    server); without it each publication gets a tick of its own.
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
    body = _Body(request.receive)
    head, problem = await _probe(body, float(limits.message_timeout))
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
    ended: str | None = None
    try:
        async with server.publish(publish) as publication:
            reader = TSReader()
            publication.add_bytes(len(head))
            _send(publication, reader.feed(head))
            del head
            extensions = request.scope.get("extensions", {})
            interval = server.plugin_settings["mpegts"].read_interval
            idle = limits.publish_idle_timeout
            take = extensions.get(BODY_SINK)
            if take is not None and body.ended is None:
                tick = _tick(ticks, interval)
                label = f"{publish.name} from {publish.ip}"
                sink = TSBodySink(reader, publication, get_running_loop().time, tick, label=label)
                ended = await _sink_body(take, sink, idle)
                if not sink.failed:
                    _send(publication, reader.flush())
            else:
                pause = extensions.get(PAUSE_READING)
                ended = await _pump(body, reader, publication, idle, interval, pause)
                _send(publication, reader.flush())
    except PublishRejected as exc:
        return PlainTextResponse(exc.reason + "\n", status_code=exc.http_status)
    if ended is None:  # the server stopped the publication (its scope was cancelled)
        ended = f"stopped: {publication.stop_reason or 'by the server'}"
    counts = f"{reader.packets} packets, {sum(reader.cc_errors.values())} continuity errors"
    log.info("%s: HTTP MPEG-TS publication ended (%s; %s)", publish.name, ended, counts)
    return PlainTextResponse(f"published {publish.name}: {counts}\n")


async def _probe(body: _Body, timeout: float) -> tuple[bytes, tuple[int, str] | None]:
    """Read the body until it shows MPEG-TS sync; return what was read, or why not.

    At most :data:`PROBE_BYTES` (plus one chunk) are held, and each byte is looked at a
    bounded number of times however the body is split.
    """
    buf = bytearray()
    start = 0
    with anyio.move_on_after(timeout):
        while len(buf) < PROBE_BYTES:
            buf += await body.next()
            found, start = _find_sync(buf, start)
            if found >= 0:
                return bytes(buf[found:]), None
            if body.ended is not None and len(buf) < PROBE_BYTES:
                return b"", (400, "the body ended before any MPEG-TS packet")
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
    body: _Body,
    reader: TSReader,
    publication: Publication,
    idle: float,
    interval: float = 0.0,
    pause: Callable[[], None] | None = None,
) -> str:
    """Feed the body to the reader until it ends; return why it stopped.

    After a read smaller than :data:`BATCH_BYTES`, reading stops for ``interval`` seconds
    (``pause`` stops the connection's reads; the next ``receive`` resumes them), so that the
    next read brings several of the client's chunks at once. One cancel scope bounds every
    wait, rather than a new scope per read; its deadline is moved on only once it is nearer
    than ``idle`` (then to ``idle`` plus :data:`IDLE_SLACK` of it ahead), so most reads
    leave the scope's timer alone and a silent body ends between ``idle`` and
    ``idle * (1 + IDLE_SLACK)`` after its last byte.
    """
    feed = reader.feed
    send = publication.send
    add_bytes = publication.add_bytes
    # the loop's clock is anyio's on asyncio (uvicorn runs nowhere else): anyio.current_time
    # looks the backend up on each call (two getpid system calls and sniffio's lookup)
    now = get_running_loop().time
    ahead = idle * (1 + IDLE_SLACK)
    with anyio.CancelScope(deadline=now() + ahead) as scope:
        while body.ended is None:
            t = now()
            if scope.deadline - t < idle:
                scope.deadline = t + ahead
            chunk = await body.next()
            if chunk:
                add_bytes(len(chunk))
                for event in feed(chunk):
                    if type(event) is Frame:
                        send(event)
            if interval and len(chunk) < BATCH_BYTES and body.ended is None:
                if pause is not None:
                    pause()
                await sleep(interval)  # asyncio's own: anyio's costs more per call
        return body.ended or "body ended"
    return f"no data for {idle:g} s"


def _tick(ticks: dict[float, ReadTick] | None, interval: float) -> ReadTick | None:
    """The shared read tick for ``interval`` (None when reads are not batched)."""
    if not interval:
        return None
    if ticks is None:
        return ReadTick(interval)
    tick = ticks.get(interval)
    if tick is None:
        tick = ticks[interval] = ReadTick(interval)
    return tick


async def _sink_body(take: Callable[[TSBodySink], Any], sink: TSBodySink, idle: float) -> str:
    """Hand the rest of the body to ``sink`` (``take`` is the HTTP server's
    ``headwater.body_sink``) and wait until it is over; return why.

    The wait ends when the body ends, the client leaves or the demux fails (the sink says
    which), or ``idle`` seconds after the last read that brought body bytes; a cancellation
    (the server stopped the publication) propagates. Either way the body is given back to
    the HTTP server on the way out.
    """
    done = anyio.Event()
    sink.on_end = done.set
    now = get_running_loop().time
    tap = take(sink)
    try:
        sink.attach(tap)
        if sink.failed:  # the bytes held before the sink already failed to demux
            tap.abort()
        while sink.ended is None:
            left = sink.last + idle - now()
            if left <= 0:
                return f"no data for {idle:g} s"
            with anyio.move_on_after(left):
                await done.wait()
        return sink.ended
    finally:
        sink.body_ended(sink.ended or "released")  # stops its tick; the event is set or moot
        tap.release()


def _send(publication: Publication, events: list) -> None:
    for event in events:
        if type(event) is Frame:
            publication.send(event)
