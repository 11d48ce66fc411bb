"""The RTMP/RTMPS listener and per-connection glue: sockets and core calls around the sans-I/O
:class:`~headwater_rtmp.session.ServerSession`.

Each connection runs one reader loop (bytes → session → events) and, per publish or
play, one task: a publish task holds ``server.publish(request)`` open while the reader
feeds its frames; a play task reads a subscription and writes messages. Writes go through
one lock. A :class:`ProtocolError` closes that connection with one log line; timeouts
bound the handshake, idle connections and blocked writes.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import SocketAttribute, TaskGroup, TaskStatus
from anyio.streams.tls import TLSListener

from headwater import PublishRejected, PublishRequest, Refusal
from headwater.errors import ProtocolError
from headwater_rtmp import events as ev
from headwater_rtmp.adapter import PlayAdapter, PublishAdapter
from headwater_rtmp.session import ServerSession
from headwater_rtmp.settings import RTMPSettings
from headwater_rtmp.wire.messages import Message

if TYPE_CHECKING:
    from anyio.abc import ByteStream

    from headwater.config.models import ListenerSettings
    from headwater.publication import Publication
    from headwater.server import Server

log = logging.getLogger("headwater.rtmp")

READ_SIZE = 1 << 16
REFUSAL_CODES = {
    Refusal.UNAUTHORIZED: "NetStream.Publish.Unauthorized",
    Refusal.FORBIDDEN: "NetStream.Publish.Unauthorized",
}
"""Every other refusal (bad name, not found, busy, limit) reads as ``Publish.BadName``."""


def rtmp_settings(server: Server) -> RTMPSettings:
    """The validated ``rtmp`` section (defaults when the section is absent)."""
    found = server.plugin_settings.get("rtmp")
    return found if isinstance(found, RTMPSettings) else RTMPSettings()


class RTMPListener:
    """One ``listeners.rtmp`` (or ``listeners.rtmps``, with TLS) entry."""

    def __init__(self, server: Server, settings: ListenerSettings, tls: bool = False) -> None:
        self.name = "rtmps" if tls else "rtmp"
        self.server = server
        self.settings = settings
        self.tls = tls
        self.addresses: list[tuple[str, int]] = []
        self.connections = 0

    async def serve(self, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the address, accept connections until cancelled."""
        host, port = self.settings.address
        try:
            listener: Any = await anyio.create_tcp_listener(
                local_host=host, local_port=port, reuse_port=False
            )
        except OSError as exc:
            raise OSError(exc.errno, f"{self.name} cannot listen on {host}:{port}: {exc}") from exc
        self.addresses = [listener.extra(SocketAttribute.local_address)[:2]]
        if self.tls:
            if not self.settings.cert or not self.settings.key:
                raise ValueError(f"listeners.{self.name} needs `cert` and `key`")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.settings.cert, self.settings.key)
            listener = _TLSListener(
                listener,
                context,
                standard_compatible=False,
                handshake_timeout=self.server.settings.limits.handshake_timeout,
            )
        task_status.started(self.addresses)
        async with listener:
            await listener.serve(self._handle)

    async def _handle(self, stream: ByteStream) -> None:
        peer = _address(stream, SocketAttribute.remote_address)
        local = _address(stream, SocketAttribute.local_address)
        limits = self.server.settings.limits
        if self.connections >= limits.max_connections:
            log.warning("%s %s:%s refused: %d connections", self.name, *peer, self.connections)
            await _close(stream)
            return
        self.connections += 1
        try:
            await Connection(self.server, stream, peer, local[1], self.name).run()
        except ProtocolError as exc:
            log.info("%s %s:%s closed: %s", self.name, *peer, exc)
        except TimeoutError as exc:
            log.info("%s %s:%s closed: %s", self.name, *peer, exc or "timed out")
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        except Exception:
            log.exception("%s %s:%s: internal error", self.name, *peer)
        finally:
            self.connections -= 1
            await _close(stream)


class _TLSListener(TLSListener):
    """A TLS listener whose failed handshakes are one log line, not a traceback."""

    @staticmethod
    async def handle_handshake_error(exc: BaseException, stream: Any) -> None:
        log.info("rtmps: TLS handshake failed: %s", exc)
        await _close(stream)


def _more_buffered(stream: ByteStream) -> bool:
    """True unless the stream is known to hold no received chunk that was not read yet.

    anyio's asyncio socket stream keeps the chunks the event loop has already received in
    its protocol's ``read_queue``; pausing while one waits there would leave it unread for
    a whole interval (a throughput cap), so batching is only done when that queue is
    visible and empty. Any other stream (TLS, another backend) reads without pauses.
    """
    queue = getattr(getattr(stream, "_protocol", None), "read_queue", None)
    return queue is None or bool(queue)


def _address(stream: ByteStream, attribute: Any) -> tuple[str, int]:
    try:
        addr = stream.extra(attribute)
        return str(addr[0]), int(addr[1])
    except (anyio.TypedAttributeLookupError, IndexError, TypeError):
        return ("", 0)


async def _close(stream: ByteStream) -> None:
    with anyio.move_on_after(2, shield=True):
        with contextlib.suppress(OSError, anyio.BrokenResourceError, ssl.SSLError):
            await stream.aclose()


def _first_error(group: BaseExceptionGroup) -> BaseException:
    """The first real error in a task group's exception group (one log line names it)."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        return exc
    return group


class Connection:
    """One client: the reader loop plus a task per publish/play on it."""

    def __init__(
        self, server: Server, stream: ByteStream, peer: tuple[str, int], port: int, proto: str
    ):
        self.server = server
        self.stream = stream
        self.peer = peer
        self.local_port = port
        self.proto = proto
        self.settings = rtmp_settings(server)
        limits = server.settings.limits
        self.session = ServerSession(
            chunk_size=self.settings.chunk_size,
            window=self.settings.window_ack_size,
            max_message_size=min(int(limits.max_message_size), 0xFFFFFF),
            max_streams=self.settings.max_streams_per_connection,
        )
        self.publishing: dict[int, tuple[Publication, PublishAdapter]] = {}
        self.ends: dict[int, anyio.Event] = {}
        self.playing: dict[int, anyio.CancelScope] = {}
        self.send_lock = anyio.Lock(fast_acquire=True)
        self.send_started = 0.0
        """When the write in progress began (0 when none): the watchdog's input."""
        self.tg: TaskGroup | None = None

    async def run(self) -> None:
        """Handshake, then read until the client leaves or something closes the connection."""
        limits = self.server.settings.limits
        session = self.session
        events: list[Any] = []
        try:
            with anyio.fail_after(limits.handshake_timeout):
                while not session.handshake.done:
                    events = session.receive_data(await self.stream.receive(READ_SIZE))
                    await self.flush()
        except TimeoutError:
            raise TimeoutError(f"no RTMP handshake within {limits.handshake_timeout:g}s") from None
        try:
            async with anyio.create_task_group() as tg:
                self.tg = tg
                tg.start_soon(self.watchdog)
                await self.dispatch(events)
                await self.flush()
                receive = self.stream.receive
                pause = self.settings.read_interval
                while True:
                    if self.publishing or self.playing:
                        data = await receive(READ_SIZE)  # the hot path: no scope per read
                        if self.publishing and pause and not _more_buffered(self.stream):
                            # A publisher trickles one message per write: let a few gather
                            # in the socket buffer so that one read, one parse pass and one
                            # fan-out wake-up serve several (costs at most `pause` latency).
                            await anyio.sleep(pause)
                    else:
                        try:
                            with anyio.fail_after(limits.publish_idle_timeout):
                                data = await receive(READ_SIZE)
                        except TimeoutError:
                            raise TimeoutError(
                                f"idle for {limits.publish_idle_timeout:g}s without publishing"
                            ) from None
                    events = session.receive_data(data)
                    if events:
                        await self.dispatch(events)
                    await self.flush()
        except BaseExceptionGroup as group:
            raise _first_error(group) from None

    async def dispatch(self, events: list[Any]) -> None:
        """Act on one batch of session events."""
        publishing = self.publishing
        for event in events:
            if type(event) is Message:
                entry = publishing.get(event.stream_id)
                if entry is not None:
                    publication, adapter = entry
                    publication.add_bytes(len(event.payload))
                    for frame in adapter.frames(event):
                        publication.send(frame)
            elif isinstance(event, ev.MetadataReceived):
                entry = publishing.get(event.stream_id)
                if entry is not None:
                    entry[0].set_metadata(event.metadata)
            elif isinstance(event, ev.PublishRequested):
                assert self.tg is not None
                self.ends[event.stream_id] = anyio.Event()
                await self.tg.start(self.publish, event)
            elif isinstance(event, ev.PlayRequested):
                assert self.tg is not None
                await self.tg.start(self.play, event)
            elif isinstance(event, ev.StreamClosed):
                self.publishing.pop(event.stream_id, None)
                end = self.ends.pop(event.stream_id, None)
                if end is not None:
                    end.set()
                scope = self.playing.pop(event.stream_id, None)
                if scope is not None:
                    scope.cancel()

    async def flush(self) -> None:
        """Send whatever the session has queued (one write, under the lock).

        No timeout scope per write (that costs more than the write): :meth:`watchdog`
        closes the connection when one write has been blocked for ``send_timeout``.
        """
        if not self.session.pending:
            return
        async with self.send_lock:
            data = self.session.data_to_send()
            if data:
                self.send_started = anyio.current_time()
                await self.stream.send(data)
                self.send_started = 0.0

    async def watchdog(self) -> None:
        """Close the connection when the client stops reading (a write blocked too long)."""
        timeout = self.settings.send_timeout
        while True:
            await anyio.sleep(min(1.0, timeout / 4))
            started = self.send_started
            if started and anyio.current_time() - started > timeout:
                log.info("%s %s:%s closed: not reading for %gs", self.proto, *self.peer, timeout)
                self.close()
                return

    def close(self) -> None:
        """Close the whole connection (after a refusal, or when the core stops a publication)."""
        if self.tg is not None:
            self.tg.cancel_scope.cancel()

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
                adapter = PublishAdapter()
                self.publishing[sid] = (publication, adapter)
                self.session.accept_publish(sid)
                await self.flush()
                end = self.ends.get(sid)
                if end is not None:
                    await end.wait()
                self.publishing.pop(sid, None)
            if publication.stop_reason:
                self.close()
        except PublishRejected as exc:
            code = REFUSAL_CODES.get(exc.refusal, "NetStream.Publish.BadName")
            self.session.reject_publish(sid, code, exc.reason)
            await self.flush()
            self.close()  # closing stops OBS from retrying in a loop on the same connection
        finally:
            self.publishing.pop(sid, None)

    async def play(
        self, event: ev.PlayRequested, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Send one stream to the player, from its last keyframe, until it ends."""
        sid = event.stream_id
        stream = self.server.streams.get(event.path)
        if stream is None or not stream.live:
            task_status.started()
            self.session.reject_play(sid, f"stream {event.path!r} is not live")
            await self.flush()
            log.info("%s %s:%s play %s: not found", self.proto, *self.peer, event.path)
            self.close()
            return
        scope = anyio.CancelScope()
        self.playing[sid] = scope
        task_status.started()
        adapter = PlayAdapter(self.settings.multitrack)
        name = f"{self.proto}-play {self.peer[0]}:{self.peer[1]}"
        with scope:
            async with stream.subscribe(name) as sub:
                self.session.accept_play(sid, adapter.metadata_for(stream.metadata))
                await self.flush()
                send_media = self.session.send_media
                pause = self.settings.play_interval
                async for frame in sub:
                    for tag in adapter.messages(frame):
                        send_media(sid, tag.kind, tag.timestamp, tag.data)
                    for more in sub.drain():
                        for tag in adapter.messages(more):
                            send_media(sid, tag.kind, tag.timestamp, tag.data)
                    await self.flush()
                    if pause:
                        # Let the next frames gather in the subscription: one wake-up and
                        # one write serve all of them (the queue is memory, so nothing
                        # throttles: a backlog is drained whole at the next turn).
                        await anyio.sleep(pause)
            self.session.end_play(sid)
            await self.flush()
        self.playing.pop(sid, None)
