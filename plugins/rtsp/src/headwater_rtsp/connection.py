"""One RTSP client connection: an :class:`asyncio.Protocol` around the sans-I/O
:class:`~headwater_rtsp.wire.session.ServerSession`, plus one anyio task for the control flow.

The data path has no ``await``: interleaved RTP from a publisher goes from
:meth:`Connection.data_received` (or the shared UDP sockets) through the
:class:`~headwater_rtsp.adapter.PublishAdapter` straight into ``publication.send``.
Requests go, in order, to the control task (:meth:`Connection.run`), which answers them
and does what needs awaiting: authorizing and holding a publication, describing a stream,
running a player's subscription, and the watchdog (idle, read and send timeouts,
receiver reports).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import anyio
from anyio.abc import TaskGroup, TaskStatus

from headwater import (
    PlayRejected,
    ProtocolError,
    PublishRejected,
    PublishRequest,
    first_error,
    peer_address,
    shown,
)
from headwater.media.rtp.formats import SentFormat, media_for_track
from headwater.media.sdp import SessionDescription
from headwater_rtsp.adapter import PlayAdapter, PublishAdapter
from headwater_rtsp.playback import PlayRefused, play, playable
from headwater_rtsp.wire import session as ss
from headwater_rtsp.wire.message import (
    Interleaved,
    MessageReader,
    Request,
    Response,
    RTSPError,
    interleaved,
)
from headwater_rtsp.wire.refusals import REFUSAL_STATUS

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from headwater import Publication
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
REPORT_INTERVAL = 5.0
"""Seconds between receiver reports to a publisher."""


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
        self.publication: Publication | None = None
        self.publish_adapter: PublishAdapter | None = None
        self.channels: dict[int, tuple[int, bool]] = {}
        """Interleaved channel → (medium index, is RTCP)."""
        self.media: list[ss.MediaTransport] = []
        self.recording = False
        self.playing = False
        self.play_scope: anyio.CancelScope | None = None
        self.play_formats: list[SentFormat] = []
        self.play_track_ids: list[int] = []
        self.play_stream: Any = None
        self.play_adapter: PlayAdapter | None = None
        self.publish_end = anyio.Event()
        self.created = self.last_request = self.last_media = time.monotonic()
        self.paused_since = 0.0
        self._reading_paused = False
        self._queued = 0
        """Events waiting for the control task; while any wait, later ones queue behind."""
        self._queue_full = False
        self.tg: TaskGroup | None = None
        self._writable = anyio.Event()
        self._writable.set()
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
        """Parse; feed interleaved media on at once; queue requests for the control task."""
        try:
            events = self.reader.feed(data, now := time.monotonic())
        except RTSPError as exc:
            self.write(Response(exc.status, body=b"").to_bytes())
            self.fail(exc)
            return
        counted = False
        for i, event in enumerate(events):
            if self._queued or type(event) is Request:
                # A request needs the control task, and what follows it may depend on its
                # answer (RTP right after RECORD): from here on, in order, through the task.
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
                break
            if type(event) is Interleaved:
                counted = True
                self.media_packet(event, now)
        publication = self.publication
        if publication is not None:
            publication.add_bytes(len(data))
            if counted and self.settings.read_interval and len(data) < SMALL_READ:
                # ffmpeg writes one RTP packet per send: let several gather in the socket
                # buffer so that one read and one parse pass serve them all.
                self._pause_reading()

    def media_packet(self, event: Interleaved, now: float) -> None:
        """One interleaved RTP or RTCP packet (the per-packet path: kept short)."""
        target = self.channels.get(event.channel)
        if target is None:
            return
        self.last_media = now
        adapter = self.publish_adapter
        if adapter is None:
            return  # a player's RTCP: it keeps the session alive
        if target[1]:
            adapter.rtcp(target[0], event.data, now)
            return
        frames = adapter.rtp(target[0], event.data, now)
        if frames:
            publication = self.publication
            if publication is not None and publication.stop_reason is None:
                for frame in frames:
                    publication.send(frame)

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

    def _publish_frames(self, frames: list[Any]) -> None:
        publication = self.publication
        if publication is None or publication.stop_reason is not None:
            return
        for frame in frames:
            publication.send(frame)

    def _udp_rtp(self, index: int, data: bytes, now: float) -> None:
        self.last_media = now
        adapter = self.publish_adapter
        if adapter is not None:
            self._publish_frames(adapter.rtp(index, data, now))
            if self.publication is not None:
                self.publication.add_bytes(len(data))

    def _udp_rtcp(self, index: int, data: bytes, now: float) -> None:
        self.last_media = now
        adapter = self.publish_adapter
        if adapter is not None:
            adapter.rtcp(index, data, now)

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
        self._writable.set()
        self.publish_end.set()

    def pause_writing(self) -> None:
        """The transport's buffer is full: the player waits (the watchdog bounds the wait)."""
        self.paused_since = time.monotonic()
        self._writable = anyio.Event()

    def resume_writing(self) -> None:
        """The transport drained its buffer: the player writes again."""
        self.paused_since = 0.0
        self._writable.set()

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
        self.publish_end.set()

    # -- the control task --------------------------------------------------------------------

    async def run(self) -> None:
        """Answer requests until the client leaves; log why it left."""
        receive = self._events[1]
        try:
            async with anyio.create_task_group() as tg:
                self.tg = tg
                tg.start_soon(self.watchdog)
                async with receive:
                    async for event in receive:
                        self._queued -= 1
                        if self._queue_full and self._queued <= QUEUE_HIGH // 2:
                            self._queue_full = False
                            if not self._reading_paused:
                                self._resume_reading()
                        if type(event) is Interleaved:
                            self.media_packet(event, time.monotonic())
                        elif type(event) is Request:
                            await self.handle(event)
                tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            self.fail(first_error(group))
        except Exception as exc:
            self.fail(exc)
        finally:
            self._events[0].close()
            self._unroute()
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
            await self.tg.start(self.publish, event)
        elif isinstance(event, ss.Describe):
            await self.describe(event)
        elif isinstance(event, ss.RecordStarted):
            self.start_recording(event.media)
        elif isinstance(event, ss.PlayStarted):
            await self.tg.start(self.play, event.media)
        elif isinstance(event, ss.Paused):
            self.stop_playing()
        elif isinstance(event, ss.TornDown):
            if self.recording and any(not m.tcp for m in self.media):
                # the publisher's last RTP may still wait in the UDP socket (the TEARDOWN
                # overtook it): take it before the session ends
                await anyio.sleep(UDP_TEARDOWN_GRACE)
            self.stop_playing()
            self.publish_end.set()
            self._unroute()
            self.recording = False

    async def watchdog(self) -> None:
        """Close on a message, idle, read or send timeout; send receiver reports to a
        publisher. Bytes alone extend nothing: every request (head and body) and interleaved
        frame must be whole ``limits.message_timeout`` after its first byte."""
        settings = self.settings
        limits = self.server.settings.limits
        handshake, message = limits.handshake_timeout, limits.message_timeout
        tick = min(
            1.0, settings.read_timeout / 4, handshake / 4, settings.reorder_wait / 2, message / 4
        )
        next_report = time.monotonic() + REPORT_INTERVAL
        while True:
            await anyio.sleep(tick)
            now = time.monotonic()
            started = self.reader.oldest_started()
            if started is not None and now - started > message:
                self.fail(
                    TimeoutError(
                        f"a request was still unfinished {message:g}s after its first byte "
                        f"({self.reader.buffered} bytes held)"
                    )
                )
                return
            if self.recording:
                if now - self.last_media > settings.read_timeout:
                    self.fail(TimeoutError(f"no RTP or RTCP for {settings.read_timeout:g}s"))
                    return
                if self.publish_adapter is not None:
                    self._publish_frames(self.publish_adapter.expire(now))
                if now >= next_report and self.publish_adapter is not None:
                    next_report = now + REPORT_INTERVAL
                    self._send_reports(now)
            elif self.playing:
                udp = any(not m.tcp for m in self.media)
                last = max(self.last_request, self.last_media)
                if udp and now - last > settings.session_timeout:
                    self.fail(TimeoutError(f"no request or RTCP for {settings.session_timeout}s"))
                    return
                if self.paused_since and now - self.paused_since > settings.send_timeout:
                    self.fail(TimeoutError(f"not reading for {settings.send_timeout:g}s"))
                    return
            else:
                early = self.session.state in (ss.State.INIT, ss.State.ANNOUNCED)
                limit = handshake if early else settings.session_timeout
                if now - self.last_request > limit:
                    self.fail(TimeoutError(f"idle for {limit:g}s"))
                    return

    def _send_reports(self, now: float) -> None:
        assert self.publish_adapter is not None
        by_index = {m.index: m for m in self.media}
        for index, report in self.publish_adapter.receiver_reports(now):
            medium = by_index.get(index)
            if medium is None:
                continue
            if medium.tcp:
                self.write(interleaved(medium.channels[1], report))
            elif self.udp is not None:
                self.udp.send_rtcp((self.peer[0], medium.client_ports[1]), report)

    # -- publishing --------------------------------------------------------------------------

    async def publish(
        self, event: ss.Announce, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Authorize and hold one publication until the client ends it or the core stops it."""
        request = event.request
        args = dict(event.args)
        match = self.server.find_settings(event.path)
        password = match.settings.password if match is not None else None
        if password and "password" not in args:
            if not self.listener.auth.check(
                request.headers.get("Authorization"), password, request.method
            ):
                reason = (
                    "wrong credentials"
                    if request.headers.get("Authorization")
                    else "credentials required"
                )
                log.info("rtsp %s:%s ANNOUNCE %s: 401 %s", *self.peer, shown(event.path), reason)
                challenge = [("WWW-Authenticate", self.listener.auth.challenge())]
                self.respond(self.session.refuse(request, 401, reason, challenge))
                task_status.started()
                return
            args["password"] = password
        publish_request = PublishRequest(
            proto="rtsp", path=event.path, args=args, peer=self.peer, local_port=self.local[1]
        )
        self.publish_end = anyio.Event()
        started = False
        try:
            async with self.server.publish(publish_request) as publication:
                self.publication = publication
                self.respond(self.session.accept_announce(request))
                started = True
                task_status.started()
                try:
                    await self.publish_end.wait()
                finally:  # what the depacketizers still hold, even when cancelled
                    if self.publish_adapter is not None:
                        self._publish_frames(self.publish_adapter.flush())
            if publication.stop_reason:
                self.close()
        except PublishRejected as exc:
            status = REFUSAL_STATUS.get(exc.refusal, 403)
            headers = []
            if status == 401:
                headers.append(("WWW-Authenticate", self.listener.auth.challenge()))
            self.respond(self.session.refuse(request, status, exc.reason, headers))
        finally:
            adapter = self.publish_adapter
            if adapter is not None and (adapter.lost or adapter.dropped or adapter.malformed):
                log.info(
                    "rtsp %s:%s %s: %d packets lost, %d dropped, %d malformed",
                    *self.peer,
                    shown(event.path),
                    adapter.lost,
                    adapter.dropped,
                    adapter.malformed,
                )
            self.publication = None
            self.publish_adapter = None
            self.recording = False
            if not started:
                task_status.started()

    def start_recording(self, media: list[ss.MediaTransport]) -> None:
        """RECORD: take RTP on the transports set up."""
        self.media = media
        udp = any(not m.tcp for m in media)
        if self.publish_adapter is not None:  # RECORD after PAUSE: carry on
            self.recording = True
            self.last_media = time.monotonic()
            return
        self.publish_adapter = PublishAdapter(
            self.session.received,
            udp=udp,
            reorder_size=self.settings.reorder_packets,
            reorder_wait=self.settings.reorder_wait,
        )
        self._route(media, self._udp_rtp, self._udp_rtcp)
        self.recording = True
        self.last_media = time.monotonic()

    def _route(
        self,
        media: list[ss.MediaTransport],
        on_rtp: Callable[[int, bytes, float], None],
        on_rtcp: Callable[[int, bytes, float], None],
    ) -> None:
        self.channels = {}
        for m in media:
            if m.tcp:
                self.channels[m.channels[0]] = (m.index, False)
                self.channels[m.channels[1]] = (m.index, True)
            elif self.udp is not None:
                ip = self.peer[0]
                rtp_key, rtcp_key = (ip, m.client_ports[0]), (ip, m.client_ports[1])
                index = m.index
                self.udp.rtp_routes[rtp_key] = lambda d, t, i=index: on_rtp(i, d, t)
                self.udp.rtcp_routes[rtcp_key] = lambda d, t, i=index: on_rtcp(i, d, t)
                self._routes += [(self.udp.rtp_routes, rtp_key), (self.udp.rtcp_routes, rtcp_key)]

    def _unroute(self) -> None:
        for table, key in self._routes:
            table.pop(key, None)
        self._routes = []

    # -- playing -----------------------------------------------------------------------------

    async def describe(self, event: ss.Describe) -> None:
        """Answer DESCRIBE with the SDP of a live stream, whatever protocol published it."""
        request = event.request
        try:
            stream = playable(self.server, event.path, event.args, self.peer)
        except PlayRefused as exc:
            log.info(
                "rtsp %s:%s DESCRIBE %s: %d %s", *self.peer, shown(event.path), exc.status, exc
            )
            self.respond(self.session.refuse(request, exc.status, exc.reason))
            return
        deadline = time.monotonic() + self.settings.describe_wait
        while not (stream.tracks and (len(stream.tracks) > 1 or _settled(stream))):
            if time.monotonic() >= deadline:  # polled: the core has no "tracks known" event
                break
            await anyio.sleep(0.05)
        sent: list[SentFormat] = []
        ids: list[int] = []
        for track in stream.tracks:
            fmt = media_for_track(track, 96 + len(sent), f"trackID={len(sent)}")
            if fmt is not None:
                sent.append(fmt)
                ids.append(track.id)
        if not sent:
            reason = f"stream {shown(event.path)} has no track RTSP can carry"
            log.info("rtsp %s:%s DESCRIBE %s: 415 %s", *self.peer, shown(event.path), reason)
            self.respond(self.session.refuse(request, 415, reason))
            return
        description = SessionDescription(
            origin=f"- {self.session.session_id[:8]} 1 IN IP4 {self.local[0] or '0.0.0.0'}",
            name=event.path,
            connection="IN IP4 0.0.0.0",
            attributes=[("tool", "headwater"), ("control", "*"), ("range", "npt=0-")],
            media=[f.media for f in sent],
        )
        self.play_formats, self.play_track_ids, self.play_stream = sent, ids, stream
        self.play_adapter = PlayAdapter(sent, ids, time.time())
        self.session.rtp_starts = self.play_adapter.rtp_info()
        self.session.played = False
        self.respond(self.session.accept_describe(request, description, sent))

    async def play(
        self,
        media: list[ss.MediaTransport],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Send the stream from its last keyframe until it ends, the player pauses or leaves."""
        self.media = media
        self._route(media, self._player_packet, self._player_packet)
        wanted = {m.index for m in media}
        adapter = self.play_adapter
        if adapter is None:  # the session only plays after a DESCRIBE on this connection
            task_status.started()
            return
        if not adapter.started:
            adapter.wall_clock = time.time()
        targets = {m.index: m for m in media}
        scope = anyio.CancelScope()
        self.play_scope = scope
        self.playing = True
        task_status.started()
        ended = False
        try:
            subscription = play(self.server, self.session.path, self.session.args, self.peer)
            with scope:
                async with subscription as sub:
                    ended = await self._send_frames(sub, adapter, targets, wanted)
        except PlayRejected as exc:  # the stream ended between DESCRIBE and PLAY
            log.info("rtsp %s:%s PLAY %s: %s", *self.peer, shown(self.session.path), exc.reason)
            ended = True
        self.playing = False
        if ended:  # the publication ended: close, so that players stop at once
            self.close()

    async def _send_frames(
        self,
        sub: Any,
        adapter: PlayAdapter,
        targets: dict[int, ss.MediaTransport],
        wanted: set[int],
    ) -> bool:
        """Packetize and send until the subscription ends (True) or we are cancelled."""
        pause = self.settings.play_interval
        async for frame in sub:
            out: list[bytes] = []
            for f in (frame, *sub.drain()):
                self._send(adapter.packets(f), targets, wanted, out)
            if out:
                self.write(b"".join(out))
            if self.paused_since:
                await self._writable.wait()  # the watchdog bounds this wait
            elif pause:
                await asyncio.sleep(pause)  # let frames gather: one write serves them all
        return True

    def _send(
        self,
        packets: list[tuple[int, bool, bytes]],
        targets: dict[int, ss.MediaTransport],
        wanted: set[int],
        out: list[bytes],
    ) -> None:
        udp = self.udp
        for index, rtcp, packet in packets:
            if index not in wanted:
                continue
            medium = targets[index]
            if medium.tcp:
                out.append(interleaved(medium.channels[1 if rtcp else 0], packet))
            elif udp is not None:
                port = medium.client_ports[1 if rtcp else 0]
                (udp.send_rtcp if rtcp else udp.send_rtp)((self.peer[0], port), packet)

    def _player_packet(self, index: int, data: bytes, now: float) -> None:
        self.last_media = now  # RTCP receiver reports (or NAT punches) keep a UDP player alive

    def stop_playing(self) -> None:
        """PAUSE or TEARDOWN: stop sending."""
        if self.play_scope is not None:
            self.play_scope.cancel()
            self.play_scope = None
        self.playing = False


def _settled(stream: Any) -> bool:
    """A single-track stream has been live for a second: it will not get another track."""
    started = getattr(stream.stats, "started_at", 0) or 0
    return bool(started) and time.time() - started > 1.0
