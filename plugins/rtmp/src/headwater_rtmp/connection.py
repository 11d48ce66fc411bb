"""One RTMP client connection: an :class:`asyncio.Protocol` around the sans-I/O
:class:`~headwater_rtmp.wire.session.ServerSession`, plus one anyio task for the control flow.

The data path has no ``await``: the event loop calls :meth:`Connection.data_received` with
what it read, the session turns it into messages, and a publisher's frames go straight to
``publication.send`` (synchronous, never blocks); replies go out with ``transport.write``.
After a small read (the socket had nothing more) a publisher's reading is paused until the
listener's next ``read_interval`` tick (:class:`~headwater_rtmp.ticker.Ticker`: one timer
for all of its connections), so that the next read, parse pass and fan-out serve several
messages, and the paused publishers' reads come back together in one poll of the loop.

The control task (:meth:`Connection.run`) does what needs awaiting: ``server.publish`` for
each publish request, a subscription for each play request; the watchdog (handshake, idle
and send timeouts) looks at the connection on the listener's watchdog tick. Players write
with one ``transport.writelines`` per turn (the chunks as pieces: one ``writev``, no join):
the listener's :class:`~headwater_rtmp.play_scheduler.PlayScheduler` gives every player
with new frames its turn in one callback right after the publisher's read was fanned out,
and a player that wrote rests until the next ``play_interval`` tick (the play task only
waits for the end); a player whose transport has paused writing waits a rest and tries again; the
subscription, not the publisher, absorbs a slow player (it drops to the next keyframe).
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
    PlayRequest,
    ProtocolError,
    PublishRejected,
    PublishRequest,
    Refusal,
    first_error,
    peer_address,
)
from headwater_rtmp.adapter import PlayAdapter, PublishAdapter
from headwater_rtmp.play_scheduler import PlayScheduler
from headwater_rtmp.settings import RTMPSettings
from headwater_rtmp.ticker import Ticker
from headwater_rtmp.wire import events as ev
from headwater_rtmp.wire.messages import AUDIO, VIDEO, Message
from headwater_rtmp.wire.session import ServerSession

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from headwater import Publication, Server, Subscription
    from headwater.media.frames import Frame

log = logging.getLogger("headwater.rtmp")

REFUSAL_CODES = {
    Refusal.UNAUTHORIZED: "NetStream.Publish.Unauthorized",
    Refusal.FORBIDDEN: "NetStream.Publish.Unauthorized",
}
"""Every other refusal (bad name, not found, busy, limit) reads as ``Publish.BadName``."""

READ_BUFFER = 256 << 10
"""The shared read buffer's size: the most one read takes from a socket."""
_READ_VIEW = memoryview(bytearray(READ_BUFFER))
SMALL_READ = 192 << 10
"""A read shorter than this emptied the socket (reads take up to :data:`READ_BUFFER`
bytes): only then is reading paused, so data already waiting is never held back."""
WRITE_HIGH_WATER = 1 << 20
"""Bytes a player's transport may buffer before it pauses our writes."""
_CONTROL_EVENTS = (ev.PublishRequested, ev.PlayRequested, ev.StreamClosed)


def watchdog_interval(server: Server, settings: RTMPSettings) -> float:
    """How often the watchdog looks at a connection: a quarter of the shortest timeout it
    keeps, at most a second."""
    limits = server.settings.limits
    return min(
        1.0,
        limits.handshake_timeout / 4,
        limits.publish_idle_timeout / 4,
        settings.send_timeout / 4,
        limits.message_timeout / 4,
    )


class Connection(asyncio.BufferedProtocol):
    """One client: protocol callbacks for the data path, :meth:`run` for the control flow.

    Reads land in one buffer shared by every connection of the process
    (:meth:`get_buffer`): the chunk reader parses them in place and copies out what it
    keeps, so a read costs no ``bytes`` object of its own (the loop's reads are serial, and
    nothing holds a view of the buffer past :meth:`buffer_updated`).

    ``start(connection)`` is called when the connection is made: it runs :meth:`run` in the
    listener's task group, or returns False to turn the client away; ``done(connection)``
    when the connection is over.
    """

    def __init__(
        self,
        server: Server,
        settings: RTMPSettings,
        proto: str,
        start: Callable[[Connection], bool],
        done: Callable[[Connection], None],
        scheduler: PlayScheduler | None = None,
        read_ticker: Ticker | None = None,
        play_ticker: Ticker | None = None,
        watch_ticker: Ticker | None = None,
    ) -> None:
        self.server = server
        self.settings = settings
        self.proto = proto
        self._start = start
        self._done = done
        self.session: ServerSession
        """Made in :meth:`connection_made`, once the listener's gate admitted the client."""
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.local_port = 0
        self.publishing: dict[int, tuple[Publication, PublishAdapter]] = {}
        self.ends: dict[int, anyio.Event] = {}
        self.playing: dict[int, anyio.CancelScope] = {}
        self.received = 0
        """Bytes received so far (counted for stats; bytes alone keep no deadline open)."""
        self.paused_since = 0.0
        """Monotonic time our writes were paused by the transport (0 while writable)."""
        self.tg: TaskGroup | None = None
        self._writable = anyio.Event()
        self._writable.set()
        self._failure: BaseException | None = None
        self._events: tuple[MemoryObjectSendStream[Any], MemoryObjectReceiveStream[Any]]
        """Control events for :meth:`run` (made in :meth:`connection_made`: a TLS client that
        fails its handshake never gets there, and leaves nothing open behind)."""
        self._read_interval = 0.0 if proto == "rtmps" else settings.read_interval
        """TLS connections read at once: their transport reads the socket (and sees its end)
        while ours is paused, and uvloop then drops what it had decrypted."""
        self._reading_paused = False
        if scheduler is None and settings.play_interval:
            scheduler = PlayScheduler()
        self._scheduler = scheduler if settings.play_interval else None
        """Gives the listener's players their turns (None with ``play_interval`` 0: each
        frame is written as it comes)."""
        if read_ticker is None and self._read_interval:
            read_ticker = Ticker(self._read_interval)
        self._read_ticker = read_ticker if self._read_interval else None
        """Resumes paused reads (the listener's, shared by its connections)."""
        if play_ticker is None and settings.play_interval:
            play_ticker = Ticker(settings.play_interval)
        self._play_ticker = play_ticker if settings.play_interval else None
        """Ends the players' rests (the listener's, shared by its connections)."""
        if watch_ticker is None:
            watch_ticker = Ticker(watchdog_interval(server, settings))
        self._watch_ticker = watch_ticker
        """Gives the watchdog its looks (the listener's, shared by its connections)."""
        self._watch_key = (self, "watchdog")
        self._watch_start = 0.0
        self._last_active = 0.0

    # -- protocol callbacks (the data path) --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Note the addresses and start the control task."""
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self._events = anyio.create_memory_object_stream[Any](math.inf)
        self.peer = peer_address(transport.get_extra_info("peername"))
        self.local_port = peer_address(transport.get_extra_info("sockname"))[1]
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        if not self._start(self):
            self._events[0].close()
            self._events[1].close()
            transport.abort()
            return
        limits = self.server.settings.limits
        self.session = ServerSession(
            chunk_size=self.settings.chunk_size,
            window=self.settings.window_ack_size,
            max_message_size=min(int(limits.max_message_size), 0xFFFFFF),
            max_streams=self.settings.max_streams_per_connection,
            max_buffered=int(limits.max_buffered_per_connection),
            budget=self.server.buffers,
        )
        self.session.reader.on_evicted = self._evicted

    def get_buffer(self, sizehint: int) -> memoryview:
        """Where the transport reads into: the process's shared read buffer."""
        return _READ_VIEW

    def buffer_updated(self, nbytes: int) -> None:
        """``nbytes`` were read into the shared buffer: parse them in place."""
        self.data_received(_READ_VIEW[:nbytes])

    def data_received(self, data: bytes | memoryview) -> None:
        """Feed the session; publish media frames at once; queue control events; reply.

        ``data`` may be a view of the shared read buffer: nothing keeps it past this call."""
        self.received += len(data)
        batch: list[Frame] = []  # this read's frames for ``counted``, handed over at once
        counted: Publication | None = None
        try:
            events = self.session.receive_data(data, time.monotonic())
            if events:
                publishing = self.publishing
                for event in events:
                    if type(event) is Message:
                        entry = publishing.get(event.stream_id)
                        if entry is not None:
                            publication, adapter = entry
                            if publication.stop_reason is None:
                                if publication is not counted:
                                    if batch:  # another stream of this connection
                                        assert counted is not None
                                        sent, batch = batch, []  # never handed over twice
                                        counted.send_many(sent)
                                    counted = publication
                                kind = event.type_id  # adapter.frames(event), one call less
                                if kind == VIDEO:
                                    batch += adapter.video(event.timestamp, event.payload)
                                elif kind == AUDIO:
                                    batch += adapter.audio(event.timestamp, event.payload)
                    elif type(event) is ev.MetadataReceived:
                        entry = publishing.get(event.stream_id)
                        if entry is not None:
                            entry[0].set_metadata(event.metadata)
                    elif isinstance(event, _CONTROL_EVENTS):
                        self._events[0].send_nowait(event)
                if counted is not None:
                    if batch:
                        sent, batch = batch, []
                        counted.send_many(sent)
                    counted.add_bytes(len(data))  # wire bytes, once per read
        except Exception as exc:  # one client's failure closes that client only
            if batch and counted is not None:
                counted.send_many(batch)  # what came before the fault is published
            self.fail(exc)
            return
        self.flush()
        if self.publishing and self._read_interval and len(data) < SMALL_READ:
            # A publisher trickles one message per write: let a few gather in the socket
            # buffer so that one read, one parse pass and one fan-out serve several.
            assert self.transport is not None and self._read_ticker is not None
            if not self._reading_paused:
                self._reading_paused = True
                self.transport.pause_reading()
                self._read_ticker.at_next(self, self._resume_reading)

    def _resume_reading(self) -> None:
        self._reading_paused = False
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def _evicted(self, reason: str) -> None:
        self.fail(ProtocolError(reason))

    def eof_received(self) -> bool:
        """The client closed its side: close ours too (RTMP has no half-close)."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """End the control task (it ends the publications and subscriptions of this client)
        and give back the memory held for its unfinished messages."""
        self._events[0].close()
        self._writable.set()
        session = getattr(self, "session", None)
        if session is not None:
            session.reader.close()
        if self._read_ticker is not None:
            self._read_ticker.cancel(self)

    def pause_writing(self) -> None:
        """The transport's buffer is full: players wait (the watchdog bounds the wait)."""
        self.paused_since = time.monotonic()
        self._writable = anyio.Event()

    def resume_writing(self) -> None:
        """The transport drained its buffer: players write again."""
        self.paused_since = 0.0
        self._writable.set()

    # -- output ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write whatever the session has queued, never blocking: its pieces (chunk
        headers, FLV bodies) in one ``transport.writelines``, which uvloop gives the kernel
        in one ``writev`` where a join would first copy every byte of a player's turn once
        more in user space."""
        session = self.session
        if session.pending:
            pieces = session.outbox.take()
            transport = self.transport
            if transport is not None and not transport.is_closing():
                transport.writelines(pieces)

    def close(self) -> None:
        """Close the connection after what is queued is written (a refusal, a stop)."""
        if self.transport is not None:
            self.transport.close()
        if self.tg is not None:
            self.tg.cancel_scope.cancel()

    def fail(self, exc: BaseException) -> None:
        """Close the connection at once and log why in one line (only the first reason)."""
        if self._failure is None:
            self._failure = exc
            if isinstance(exc, ProtocolError | TimeoutError):
                log.info("%s %s:%s closed: %s", self.proto, *self.peer, exc or "timed out")
            elif not isinstance(exc, OSError | anyio.BrokenResourceError):
                log.error("%s %s:%s: internal error", self.proto, *self.peer, exc_info=exc)
        if self.transport is not None:
            self.transport.abort()
        self._events[0].close()

    # -- the control task --------------------------------------------------------------------

    async def run(self) -> None:
        """Act on publish/play requests until the client leaves; log why it left."""
        receive = self._events[1]
        try:
            async with anyio.create_task_group() as tg:
                self.tg = tg
                self._watch_start = self._last_active = time.monotonic()
                self._watch_ticker.at_next(self._watch_key, self._watch)
                async with receive:
                    async for event in receive:
                        await self.dispatch(event)
                tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            self.fail(first_error(group))
        except Exception as exc:
            self.fail(exc)
        finally:
            self._watch_ticker.cancel(self._watch_key)
            self._events[0].close()
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()
            self._done(self)

    async def dispatch(self, event: Any) -> None:
        """Act on one control event from the session."""
        assert self.tg is not None
        if isinstance(event, ev.PublishRequested):
            self.ends[event.stream_id] = anyio.Event()
            await self.tg.start(self.publish, event)
        elif isinstance(event, ev.PlayRequested):
            await self.tg.start(self.play, event)
        elif isinstance(event, ev.StreamClosed):
            self.publishing.pop(event.stream_id, None)
            end = self.ends.pop(event.stream_id, None)
            if end is not None:
                end.set()
            scope = self.playing.pop(event.stream_id, None)
            if scope is not None:
                scope.cancel()

    def _watch(self) -> None:
        """One look of the watchdog, at each tick of the listener's watchdog
        :class:`~headwater_rtmp.ticker.Ticker` (one timer for all of its connections): close
        the connection on a handshake, message, idle or send timeout, else look again at
        the next tick.

        Bytes alone extend nothing: the handshake must complete, every message must complete
        ``message_timeout`` after its first byte, and a client that neither publishes nor
        plays is closed ``publish_idle_timeout`` after the handshake or its last stream
        (a publisher that sends no frames is stopped by the core's idle check).
        """
        if self._failure is not None:
            return
        limits = self.server.settings.limits
        now = time.monotonic()
        if not self.session.handshake.done:
            handshake = limits.handshake_timeout
            if now - self._watch_start > handshake:
                self.fail(TimeoutError(f"no RTMP handshake within {handshake:g}s"))
                return
            self._last_active = now
        else:
            message = limits.message_timeout
            started = self.session.reader.oldest_started()
            if started is not None and now - started > message:
                self.fail(
                    TimeoutError(
                        f"a message was still unfinished {message:g}s after it began "
                        f"({self.session.reader.buffered} bytes held)"
                    )
                )
                return
            idle = limits.publish_idle_timeout
            if self.publishing or self.playing:
                self._last_active = now
            elif now - self._last_active > idle:
                self.fail(TimeoutError(f"idle for {idle:g}s without publishing or playing"))
                return
            send = self.settings.send_timeout
            paused = self.paused_since
            if paused and now - paused > send:
                self.fail(TimeoutError(f"not reading for {send:g}s"))
                return
        self._watch_ticker.at_next(self._watch_key, self._watch)

    async def publish(
        self,
        event: ev.PublishRequested,
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Hold one publication open until the client ends it or the core stops it."""
        request = PublishRequest(
            proto=self.proto,
            path=event.path,
            args=event.args,
            peer=self.peer,
            local_port=self.local_port,
        )
        sid = event.stream_id
        task_status.started()
        try:
            async with self.server.publish(request) as publication:
                self.publishing[sid] = (publication, PublishAdapter())
                self.session.accept_publish(sid)
                self.flush()
                end = self.ends.get(sid)
                if end is not None:
                    await end.wait()
                self.publishing.pop(sid, None)
            if publication.stop_reason:
                self.close()
        except PublishRejected as exc:
            code = REFUSAL_CODES.get(exc.refusal, "NetStream.Publish.BadName")
            self.session.reject_publish(sid, code, exc.reason)
            self.flush()
            self.close()  # closing stops OBS from retrying in a loop on the same connection
        finally:
            self.publishing.pop(sid, None)

    async def _play_turns(self, sub: Subscription, sid: int, adapter: PlayAdapter) -> None:
        """Play with turns from the listener's :class:`PlayScheduler`: the frames queued
        for the player go out in one write as soon as the publisher's read that brought
        them was fanned out, then the player rests until the listener's next
        ``play_interval`` tick while the next ones gather (a backlog goes whole); returns
        when the stream ended and all was written."""
        scheduler = self._scheduler
        ticker = self._play_ticker
        assert scheduler is not None and ticker is not None
        loop = asyncio.get_running_loop()
        done = anyio.Event()
        outbox = self.session.outbox
        send = adapter.send
        drain = sub.drain
        key = (self, sid)
        resting = False
        over = False

        def turn() -> None:
            nonlocal resting
            if over:
                return
            if self.paused_since:  # the transport is full: try again after a rest (the
                resting = True  # watchdog bounds the wait)
                ticker.at_next(key, rested)
                return
            try:
                frames = drain()
                if frames:
                    send(frames, outbox, sid)  # the turn's messages chunked in one pass
                    self.flush()
                    resting = True
                    ticker.at_next(key, rested)
            except Exception as exc:  # one client's failure closes that client only
                self.fail(exc)
                done.set()
                return
            if sub.ended and not sub.pending:
                done.set()

        def rested() -> None:
            nonlocal resting
            resting = False
            if sub.pending or sub.ended:
                # The tick that ends the rest also resumed the publishers' paused reads,
                # which the loop makes after this callback: the turn comes after them (one
                # iteration on), so that this write takes their frames too. Writing at once
                # would send what came during the rest and leave the new frames for the
                # tick after, an interval late, from then on.
                loop.call_soon(scheduler.soon, key, turn)

        def ready() -> None:  # from the publisher's fan-out: write once it is over
            if not resting:
                scheduler.soon(key, turn)

        sub.on_ready = ready
        turn()  # the GOP cache's frames at once
        try:
            await done.wait()
        finally:
            over = True
            sub.on_ready = None
            scheduler.cancel(key)
            ticker.cancel(key)

    async def play(
        self, event: ev.PlayRequested, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Send one stream to the player, from its last keyframe, until it ends."""
        sid = event.stream_id
        request = PlayRequest(proto=self.proto, name=event.path, peer=self.peer, args=event.args)
        try:
            stream = self.server.playable(request)
        except PlayRejected as exc:
            task_status.started()
            self.session.reject_play(sid, exc.reason)
            self.flush()
            self.close()
            return
        scope = anyio.CancelScope()
        self.playing[sid] = scope
        task_status.started()
        adapter = PlayAdapter(self.settings.multitrack)
        with scope:
            async with self.server.play(request) as sub:
                self.session.accept_play(sid, adapter.metadata_for(stream.metadata))
                self.flush()
                if self._scheduler is not None:
                    await self._play_turns(sub, sid, adapter)
                else:
                    outbox = self.session.outbox
                    async for frame in sub:  # play_interval 0: each frame as it comes
                        frames = [frame]
                        frames += sub.drain()
                        adapter.send(frames, outbox, sid)
                        self.flush()
                        if self.paused_since:
                            await self._writable.wait()  # the watchdog bounds this wait
            self.session.end_play(sid)
            self.flush()
        self.playing.pop(sid, None)
