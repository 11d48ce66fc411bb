"""One RTSP client connection: an :class:`asyncio.Protocol` around the sans-I/O
:class:`~headwater_rtsp.wire.session.ServerSession`, plus one anyio task for the control flow.

This module is the thin I/O loop: bytes in, requests to the control task, answers out. What
a session does lives beside it: :mod:`.publisher` (ANNOUNCE/RECORD and the RTP it brings),
:mod:`.player` (DESCRIBE/PLAY), :mod:`.watchdog` (the deadlines). The data path has no
``await``: a publisher's interleaved RTP goes from :meth:`Connection.data_received` (or the
shared UDP sockets) through the :class:`~headwater_rtsp.adapter.PublishAdapter` straight
into ``publication.send``, a whole read in one pass. Requests go, in order, to the control
task (:meth:`Connection.run`), which answers them and does what needs awaiting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import anyio
from anyio.abc import TaskGroup

from headwater import ProtocolError, first_error, peer_address, shown
from headwater_rtsp.player import Player
from headwater_rtsp.publisher import Publisher
from headwater_rtsp.watchdog import watchdog
from headwater_rtsp.wire import session as ss
from headwater_rtsp.wire.message import MessageReader, Request, Response, RTSPError

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from headwater_rtsp.server import RTSPListener

log = logging.getLogger("headwater.rtsp")

WRITE_HIGH_WATER = 1 << 20
QUEUE_HIGH = 4096
"""Events queued for the control task before we stop reading the client."""
UDP_TEARDOWN_GRACE = 0.1
"""Seconds a UDP publisher's last packets get after its TEARDOWN."""
SMALL_READ = 192 << 10
"""A read shorter than this emptied the socket: only then is reading paused, so data
already waiting is never held back."""


class Connection(asyncio.Protocol):
    """One client: protocol callbacks for the data path, :meth:`run` for the control flow."""

    def __init__(
        self,
        listener: RTSPListener,
        start: Callable[[Connection], bool],
        done: Callable[[Connection], None],
    ) -> None:
        self.listener = listener
        self.server = listener.server
        self.settings = listener.settings
        self.udp = listener.udp
        self._start = start
        self._done = done
        settings = self.settings
        self.reader = MessageReader(
            settings.max_header_bytes, settings.max_body_bytes, budget=self.server.buffers
        )
        self.reader.on_evicted = self._evicted
        self.session = ss.ServerSession(
            server_ports=self.udp.ports if self.udp is not None else None,
            timeout=settings.session_timeout,
        )
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.local: tuple[str, int] = ("", 0)
        self.publisher = Publisher(self)
        self.player = Player(self)
        self.channels: dict[int, tuple[int, bool]] = {}
        """Interleaved channel → (medium index, is RTCP)."""
        self.media: list[ss.MediaTransport] = []
        """The transports of what the session records or plays."""
        self.created = self.last_request = self.last_media = time.monotonic()
        self.paused_since = 0.0
        self.writable = anyio.Event()
        """Set while the transport takes writes (a player waits on it)."""
        self.writable.set()
        self._reading_paused = False
        self._queued = 0
        """Events waiting for the control task; while any wait, later ones queue behind."""
        self._queue_full = False
        self.tg: TaskGroup | None = None
        self._failure: BaseException | None = None
        self._routes: list[tuple[dict[Any, Any], tuple[str, int]]] = []
        self._events: tuple[MemoryObjectSendStream[Any], MemoryObjectReceiveStream[Any]]

    # -- protocol callbacks (the data path) --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Note the addresses and start the control task."""
        self.transport = transport = cast(asyncio.Transport, transport)
        self._events = anyio.create_memory_object_stream[Any](math.inf)
        self.peer = peer_address(transport.get_extra_info("peername"))
        self.local = peer_address(transport.get_extra_info("sockname"))
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        if not self._start(self):
            self._events[0].close()
            self._events[1].close()
            transport.abort()

    def data_received(self, data: bytes) -> None:
        """Publish a publisher's interleaved RTP at once, a whole read in one pass; parse
        the rest and queue requests (and what follows them) for the control task."""
        now = time.monotonic()
        reader = self.reader
        publisher = self.publisher
        counted = False
        pos = 0
        try:
            if publisher.adapter is not None and not self._queued:
                if reader.buffered:  # the rest of a frame the last read cut?
                    frame, pos = reader.finish_frame(data)
                    if frame is not None:
                        self.media_packet(frame[0], frame[1], now)
                        counted = True
                if not reader.buffered:
                    end = publisher.read(data, pos, now)
                    if end > pos:
                        self.last_media = now
                        counted = True
                    pos = end
            if pos < len(data):
                packets, rest = reader.feed_packets(data[pos:] if pos else data, now)
                if self._queued:  # behind a request the control task has not answered yet
                    self._take([*packets, *rest], now)
                else:
                    for channel, packet in packets:
                        counted = True
                        self.media_packet(channel, packet, now)
                    if rest:
                        self._take(rest, now)
        except RTSPError as exc:
            self.write(Response(exc.status, body=b"").to_bytes())
            self.fail(exc)
            return
        publication = publisher.publication
        if publication is not None:
            publication.add_bytes(len(data))
            if counted and self.settings.read_interval and len(data) < SMALL_READ:
                # ffmpeg writes one RTP packet per send: let several gather in the socket
                # buffer so that one read and one parse pass serve them all.
                self._pause_reading()

    def _take(self, events: list[Any], now: float) -> None:
        """Messages (and frames after them): a request needs the control task, and what
        follows it may depend on its answer (RTP right after RECORD), so from the first
        request on everything goes, in order, through the task."""
        for i, event in enumerate(events):
            if self._queued or type(event) is Request:
                try:
                    for later in events[i:]:
                        self._events[0].send_nowait(later)
                        self._queued += 1
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    return
                if self._queued > QUEUE_HIGH and not self._queue_full:
                    self._queue_full = True  # bounded: the client waits for our answers
                    if self.transport is not None and not self.transport.is_closing():
                        self.transport.pause_reading()
                return
            if type(event) is tuple:
                self.media_packet(event[0], event[1], now)

    def media_packet(self, channel: int, packet: bytes | memoryview, now: float) -> None:
        """One interleaved RTP or RTCP packet that came the buffered way."""
        if channel not in self.channels:
            return
        self.last_media = now
        self.publisher.packet(channel, packet, now)  # a player's RTCP only keeps it alive

    def _pause_reading(self) -> None:
        transport = self.transport
        if transport is None or self._reading_paused or transport.is_closing():
            return
        self._reading_paused = True
        transport.pause_reading()
        asyncio.get_running_loop().call_later(self.settings.read_interval, self._resume_reading)

    def _resume_reading(self) -> None:
        self._reading_paused = False
        transport = self.transport
        if transport is not None and not transport.is_closing() and not self._queue_full:
            transport.resume_reading()

    def _evicted(self, reason: str) -> None:
        """The server-wide budget took back this client's unfinished message: close it."""
        self.write(Response(503, body=b"").to_bytes())
        self.fail(RTSPError(reason, 503))

    def eof_received(self) -> bool:
        """The client closed its side: close ours too."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """End the control task (it ends the publication or playback of this client) and
        give back the memory held for its unfinished message."""
        self._events[0].close()
        self.reader.close()
        self.writable.set()
        self.publisher.end.set()

    def pause_writing(self) -> None:
        """The transport's buffer is full: the player waits (the watchdog bounds the wait)."""
        self.paused_since = time.monotonic()
        self.writable = anyio.Event()

    def resume_writing(self) -> None:
        """The transport drained its buffer: the player writes again."""
        self.paused_since = 0.0
        self.writable.set()

    # -- output ------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue bytes on the connection (never blocks)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def respond(self, response: Response) -> None:
        """Send a response."""
        self.write(response.to_bytes())

    def close(self) -> None:
        """Close after what is queued is written."""
        if self.transport is not None:
            self.transport.close()
        if self.tg is not None:
            self.tg.cancel_scope.cancel()

    def fail(self, exc: BaseException) -> None:
        """Close at once and log why in one line (only the first reason)."""
        if self._failure is None:
            self._failure = exc
            if isinstance(exc, ProtocolError | TimeoutError):
                log.info("rtsp %s:%s closed: %s", *self.peer, exc or "timed out")
            elif not isinstance(exc, OSError | anyio.BrokenResourceError):
                log.error("rtsp %s:%s: internal error", *self.peer, exc_info=exc)
        if self.transport is not None:
            self.transport.abort()
        self._events[0].close()
        self.publisher.end.set()

    # -- transports --------------------------------------------------------------------------

    def route(
        self,
        media: list[ss.MediaTransport],
        on_rtp: Callable[[int, bytes, float], None],
        on_rtcp: Callable[[int, bytes, float], None],
    ) -> None:
        """Take the session's interleaved channels, and register its UDP client ports with
        the listener's shared sockets (``on_rtp``/``on_rtcp`` get the medium index)."""
        self.channels = {}
        for m in media:
            if m.tcp:
                self.channels[m.channels[0]] = (m.index, False)
                self.channels[m.channels[1]] = (m.index, True)
            elif self.udp is not None:
                ip = self.peer[0]
                rtp_key, rtcp_key = (ip, m.client_ports[0]), (ip, m.client_ports[1])
                index = m.index
                self.udp.rtp_routes[rtp_key] = partial(on_rtp, index)  # called per datagram
                self.udp.rtcp_routes[rtcp_key] = partial(on_rtcp, index)
                self._routes += [(self.udp.rtp_routes, rtp_key), (self.udp.rtcp_routes, rtcp_key)]

    def unroute(self) -> None:
        """Unregister the session's UDP client ports."""
        for table, key in self._routes:
            table.pop(key, None)
        self._routes = []

    # -- the control task --------------------------------------------------------------------

    async def run(self) -> None:
        """Answer requests until the client leaves; log why it left."""
        receive = self._events[1]
        try:
            async with anyio.create_task_group() as tg:
                self.tg = tg
                tg.start_soon(watchdog, self)
                async with receive:
                    async for event in receive:
                        self._queued -= 1
                        if self._queue_full and self._queued <= QUEUE_HIGH // 2:
                            self._queue_full = False
                            if not self._reading_paused:
                                self._resume_reading()
                        if type(event) is tuple:
                            self.media_packet(event[0], event[1], time.monotonic())
                        elif type(event) is Request:
                            await self.handle(event)
                tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            self.fail(first_error(group))
        except Exception as exc:
            self.fail(exc)
        finally:
            self._events[0].close()
            self.unroute()
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()
            self._done(self)

    async def handle(self, request: Request) -> None:
        """Answer one request, acting on what the session says happened."""
        assert self.tg is not None
        self.last_request = time.monotonic()
        response, event = self.session.receive(request)
        if response is not None:
            if response.status >= 400:
                log.info(
                    "rtsp %s:%s %s %s: %d %s",
                    *self.peer,
                    request.method,  # checked by the parser: [A-Z_-]{1,32}
                    shown(request.url),
                    response.status,
                    response.headers.get("X-Reason") or "",
                )
            self.respond(response)
        if isinstance(event, ss.Announce):
            await self.tg.start(self.publisher.publish, event)
        elif isinstance(event, ss.Describe):
            await self.player.describe(event)
        elif isinstance(event, ss.RecordStarted):
            self.publisher.start(event.media)
        elif isinstance(event, ss.PlayStarted):
            await self.tg.start(self.player.play, event.media)
        elif isinstance(event, ss.Paused):
            self.player.stop()
        elif isinstance(event, ss.TornDown):
            if self.publisher.recording and any(not m.tcp for m in self.media):
                # the publisher's last RTP may still wait in the UDP socket (the TEARDOWN
                # overtook it): take it before the session ends
                await anyio.sleep(UDP_TEARDOWN_GRACE)
            self.player.stop()
            self.publisher.stop()
            self.unroute()
