"""The thin transport around :class:`~headwater_srt.wire.endpoint.Endpoint`: UDP sockets (one
per port, any number of connections per socket), one timer task for every connection of
the service, and one task per caller running the application's handler.

Receiving is poll-driven where it matters: a port with live connections is drained (every
queued datagram, ``recvfrom`` until the socket is empty) by the one timer task, every
2.5 ms when busy and every 10 ms otherwise, so thousands of packets per second cost a few
hundred wake-ups instead of one event loop iteration each; a port without connections
waits for readability (a handshake) and costs no task. Answers go out at once with a
non-blocking ``sendto``. Ranges of thousands of ports therefore stay cheap, and a busy
port pays per batch, not per datagram.

The application's handler gets a :class:`~headwater_srt.caller.Caller` for each CONCLUSION
(see ``caller.py``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Sequence

import anyio
from anyio.abc import TaskGroup, TaskStatus

from headwater import ProtocolError

from .caller import Caller, Handler, Refused, Session, refusal_text
from .clock import now_us
from .datagrams import SLOT, DatagramReader, batch_reader, peer_key
from .udp_socket import bind_udp, receive_buffer_shortfall
from .wire.connection import Connection
from .wire.endpoint import Address, Endpoint
from .wire.rejection import RejectReason

log = logging.getLogger("headwater.srt")

TICK = 0.010
"""Timer period: the full-ACK interval."""
POLL_FAST, POLL_SLOW = 0.0025, 0.010
"""How often ports with connections are drained: every 2.5 ms when the last drain found
many datagrams (a busy server), every 10 ms (the ACK period) when it found few."""
BUSY_DRAIN = 32
"""Datagrams per drain above which polling goes fast."""
DRAIN_LIMIT = 1024
"""Most datagrams one drain reads from one socket (then the other tasks get a turn)."""
HAND_OVER_TICKS = 4
"""Delivered payload goes to each stream handler every this many ticks (40 ms), to a
different quarter of the handlers at each tick."""
CONNECTION_TICKS = 2
"""A connection's timers run at every this many ticks (20 ms); the hand-over ticks of a
session (:data:`HAND_OVER_TICKS`) are among its timer ticks."""
HAND_OVER_PACKETS = 16
"""A handler gets its payload at its tick once this many packets wait (about 40 ms of a
4 Mbit/s stream: 21 KB). 32 would halve the fixed 40-50 µs a batch that decryption and
the TS demuxer's bulk path cost, but adds about 35 ms of latency, and publish-to-play
latency must not grow for it..."""
HAND_OVER_WAIT = 100_000
"""... or once the oldest waited this long, µs (a small stream's payload is handed over
every 100-140 ms, in batches that pay for themselves, rather than 2 packets every 40 ms)."""
MAX_DATAGRAM = 2048
"""Receive size: SRT packets fit the negotiated MTU (1500 at most)."""
dest_of = struct.Struct("!I").unpack_from
"""The destination socket id of a packet (its fourth header word)."""


class SRTPort:
    """One bound UDP socket and its sans-I/O endpoint."""

    def __init__(self, service: SRTService, sock: socket.socket, endpoint: Endpoint) -> None:
        self.service = service
        self.sock = sock
        self.endpoint = endpoint
        self.port: int = sock.getsockname()[1]
        self.sessions: dict[int, Session] = {}
        self.watching = False
        """Whether the event loop watches the socket (idle port) rather than the poller."""
        self.reader: DatagramReader | None = (
            batch_reader(sock) if isinstance(sock, socket.socket) else None
        )
        """Reads datagrams in batches (Linux, IPv4), else None: one ``recvfrom`` each."""
        self._routes: dict[int, tuple[Connection, Address, int]] = {}
        """Established connections by our socket id, with the peer and its key (see
        :meth:`_route`); a connection's entry goes when the endpoint forgets it."""

    def drain(self, limit: int = 1024) -> int:
        """Handle every datagram queued on the socket (at most ``limit``, give or take a
        batch); return how many.

        Packets of established connections (data, and the ACKACKs that answer each ACK)
        take a short path straight to their connection (one clock reading per drain);
        handshakes and strays go through :meth:`on_datagram`. Where the port has a
        :class:`~headwater_srt.datagrams.DatagramReader` (Linux, IPv4) each system call
        reads a batch of datagrams; elsewhere one ``recvfrom`` reads each.
        """
        reader = self.reader
        if reader is None:
            return self._drain_each(limit)
        rows = reader.rows
        routes = self._routes
        now = now_us()
        count = 0
        while count < limit:
            try:
                got = reader.read()
            except OSError as exc:  # e.g. ICMP port unreachable from a vanished caller
                log.debug("srt: port %s: %s", self.port, exc)
                return count
            count += got
            start = 0
            for size, dest, peer in zip(
                reader.lengths[:got].tolist(),
                reader.dests[:got].tolist(),
                reader.peers[:got].tolist(),
                strict=True,
            ):
                data = rows[start : start + size]
                start += SLOT
                if size >= 16:
                    route = routes.get(dest) or self._route(dest)
                    if route is not None and route[2] == peer:
                        self._deliver(route[0], route[1], data, now)
                        continue
                self.on_datagram(data, reader.address(start // SLOT - 1))
            if got < reader.count:  # the queue is empty: no call to find that out
                return count
        return count

    def _deliver(self, conn: Connection, peer: Address, data: bytes, now: int) -> None:
        """Hand a datagram of an established connection to it; send what it answers at
        once, and wake the service when the datagram closed it (a bad one closes only that
        connection, with the reason)."""
        if conn.closed:
            return
        try:
            conn.receive(data, now)
        except ProtocolError as exc:
            conn.close(now, f"protocol error: {exc}")
        if conn.outgoing:
            self.endpoint.flush(conn, peer)
            self.flush()
        if conn.closed:
            self.service.wake()

    def _route(self, socket_id: int) -> tuple[Connection, Address, int] | None:
        """The connection with our ``socket_id``, its peer and the peer's
        :func:`~headwater_srt.datagrams.peer_key`, kept for the next datagrams."""
        entry = self.endpoint.connections.get(socket_id)
        if entry is None:
            return None
        route = self._routes[socket_id] = (entry[0], entry[1], peer_key(entry[1]))
        return route

    def _drain_each(self, limit: int) -> int:
        """:meth:`drain` with one ``recvfrom`` per datagram."""
        recv = self.sock.recvfrom
        conns = self.endpoint.connections
        now = now_us()
        for count in range(limit):
            try:
                data, addr = recv(MAX_DATAGRAM)
            except BlockingIOError:
                return count
            except OSError as exc:  # e.g. ICMP port unreachable from a vanished caller
                log.debug("srt: port %s: %s", self.port, exc)
                return count
            if len(data) >= 16:
                entry = conns.get(dest_of(data, 12)[0])
                if entry is not None:
                    conn, peer = entry
                    # IPv4: the same 2-tuple; IPv6 addresses carry flow info and scope
                    if addr == peer or (peer[1] == addr[1] and peer[0] == addr[0]):
                        self._deliver(conn, peer, data, now)
                        continue
            self.on_datagram(data, (addr[0], addr[1]))
        return limit

    def on_datagram(self, data: bytes, peer: Address) -> None:
        """Handle one datagram (called synchronously by the receive path)."""
        ep = self.endpoint
        conn = ep.datagram_received(data, peer, now_us())
        if ep.outgoing:
            self.flush()
        if ep.requests:
            for request in ep.requests:
                caller = Caller(
                    request,
                    self.port,
                    accept=self.accept,
                    reject=self.reject,
                    check_secret=ep.check_secret,
                )
                self.service.spawn(caller)
            ep.requests.clear()
        if conn is not None and conn.closed:
            self.service.wake()

    def flush(self) -> None:
        """Send the endpoint's queued datagrams (non-blocking; UDP may drop)."""
        out = self.endpoint.outgoing
        if not out:
            return
        send = self.sock.sendto
        for datagram, peer in out:
            try:
                send(datagram, peer)
            except OSError as exc:  # a full socket buffer loses a datagram, like the network
                log.debug("srt: send to %s:%s failed: %s", peer[0], peer[1], exc)
        out.clear()

    def accept(self, caller: Caller, passphrase: str | None) -> Session:
        request = caller.request
        if request.decided:
            raise Refused(RejectReason.TIMEOUT, "the caller was already answered")
        caller.decided_event.set()
        result = self.endpoint.accept(request, passphrase, now_us())
        self.flush()
        if isinstance(result, RejectReason):
            raise Refused(result, refusal_text(result, request.encrypted))
        session = Session(result, request.peer, self.port)
        self.sessions[result.info.socket_id] = session
        caller.session = session
        self.service.activate(self)
        return session

    def reject(self, caller: Caller, reason: RejectReason) -> None:
        if caller.request.decided:
            return
        caller.decided_event.set()
        self.endpoint.reject(caller.request, reason, now_us())
        self.flush()

    def tick(self, now: int, hand_over: bool = True, phase: int | None = None) -> None:
        """Advance the connections' timers; with ``hand_over``, pass delivered payload to
        the sessions (batched: a handler wakes up a few times per ACK period, not per
        packet). With ``phase``, only the sessions of that phase (socket id modulo
        :data:`HAND_OVER_TICKS`) get their payload, so that a tick wakes a quarter of the
        handlers rather than all of them at once every fourth tick: with hundreds of
        callers, one such burst of TS demuxing held the event loop long enough for the
        socket to overflow.

        With ``phase``, a connection's timers run at every second tick (its socket id's
        parity, :data:`CONNECTION_TICKS`), its hand-over among them: ACKs are decided every
        16 packets or 80 ms, the periodic NAK at least 20 ms apart, so 10 ms timing bought
        nothing but the cost, per connection, of a hundred visits a second (with hundreds
        of small streams, a tenth of the server's time)."""
        parity = None if phase is None else phase % CONNECTION_TICKS
        closed = self.endpoint.tick(now, parity)
        for conn in closed:
            self._routes.pop(conn.info.socket_id, None)
        for socket_id, session in list(self.sessions.items()):
            conn = session.connection
            if parity is not None and socket_id % CONNECTION_TICKS != parity and not conn.closed:
                continue
            if conn.has_payload and (
                conn.closed
                or (
                    hand_over
                    and (phase is None or socket_id % HAND_OVER_TICKS == phase)
                    and (
                        conn.pending >= HAND_OVER_PACKETS
                        or now - conn.pending_since >= HAND_OVER_WAIT
                    )
                )
            ):
                session.deliver(conn.take_payload())
            if conn in closed or (conn.closed and socket_id not in self.endpoint.connections):
                session.finish()
                del self.sessions[socket_id]
        self.flush()

    def close(self) -> None:
        """Shut every connection down and close the socket."""
        self.endpoint.close_all(now_us())
        self.flush()
        for s in self.sessions.values():
            s.finish()
        self.sock.close()


def _asyncio_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # another anyio backend
        return None


class SRTService:
    """SRT listening on a set of ports of one host, sharing one timer task."""

    def __init__(
        self,
        host: str,
        ports: Sequence[int],
        handler: Handler,
        *,
        latency_ms: int = 120,
        idle_timeout: float = 5.0,
        decision_timeout: float = 2.5,
        name: str = "srt",
    ) -> None:
        self.name = name
        self.host = host
        self.requested_ports = list(ports)
        self.handler = handler
        self.latency_ms = latency_ms
        self.idle_timeout = idle_timeout
        self.decision_timeout = decision_timeout
        self.ports: list[SRTPort] = []
        self.active: set[SRTPort] = set()
        self.addresses: list[tuple[str, int]] = []
        self._wake = anyio.Event()
        self._tg: TaskGroup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Run the timer loop now (a connection closed)."""
        self._wake.set()

    def spawn(self, caller: Caller) -> None:
        """Start the handler task of a new caller."""
        assert self._tg is not None
        self._tg.start_soon(self.run_handler, caller)

    async def serve(
        self, *, task_status: TaskStatus[list[tuple[str, int]]] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Bind every port, report the addresses, then serve until cancelled."""
        start = now_us()
        try:
            for port in self.requested_ports:
                ep = Endpoint(
                    latency_ms=self.latency_ms,
                    clock_start=start,
                    idle_timeout=int(self.idle_timeout * 1_000_000),
                )
                self.ports.append(SRTPort(self, bind_udp(self.host, port), ep))
        except BaseException:
            for p in self.ports:
                p.sock.close()
            raise
        self.addresses = [(self.host, p.port) for p in self.ports]
        if self.ports:
            problem = receive_buffer_shortfall(self.ports[0].sock)
            if problem:
                log.warning("srt: %s", problem)
        self._loop = _asyncio_loop()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                for p in self.ports:
                    self._watch(p, tg)
                tg.start_soon(self._timer)
                task_status.started(self.addresses)
        finally:
            for p in self.ports:
                self._unwatch(p)
                p.close()

    # -- receive paths: readiness for idle ports, polling for busy ones ---------------------

    def _watch(self, port: SRTPort, tg: TaskGroup) -> None:
        if port.watching:
            return
        port.watching = True
        if self._loop is not None:
            self._loop.add_reader(port.sock.fileno(), port.drain)
        else:
            tg.start_soon(self._readable_loop, port)

    def _unwatch(self, port: SRTPort) -> None:
        if not port.watching:
            return
        port.watching = False
        if self._loop is not None:
            self._loop.remove_reader(port.sock.fileno())

    async def _readable_loop(self, port: SRTPort) -> None:
        """Non-asyncio backends: wait for readability while the port is idle."""
        while port.watching:
            await anyio.wait_readable(port.sock)
            if port.watching:  # else the poller took the port over meanwhile
                port.drain()

    def activate(self, port: SRTPort) -> None:
        """A port got a connection: poll it from the timer loop."""
        if port not in self.active:
            self.active.add(port)
            self._unwatch(port)
            self._wake.set()

    async def _timer(self) -> None:
        next_tick = time.monotonic()
        ticks = 0
        poll = POLL_SLOW
        while True:
            if not self.active:
                await self._wake.wait()
                self._wake = anyio.Event()
                next_tick = time.monotonic()
                continue
            await anyio.sleep(max(0.0, min(poll, next_tick - time.monotonic())))
            drained = 0
            backlog = False
            for p in list(self.active):
                count = p.drain(DRAIN_LIMIT)
                drained += count
                backlog = backlog or count == DRAIN_LIMIT
            # a socket left with datagrams queued is read again as soon as the other
            # tasks had their turn, not a poll period later
            poll = 0.0 if backlog else POLL_FAST if drained > BUSY_DRAIN else POLL_SLOW
            now = time.monotonic()
            if now < next_tick and not self._wake.is_set():
                continue
            self._wake = anyio.Event()
            next_tick = max(next_tick + TICK, now)
            clock = now_us()
            ticks += 1
            for p in list(self.active):
                p.tick(clock, True, ticks % HAND_OVER_TICKS)
                if not p.endpoint.connections and not p.sessions:
                    self.active.discard(p)
                    assert self._tg is not None
                    self._watch(p, self._tg)

    async def run_handler(self, caller: Caller) -> None:
        """Run the application's handler for one caller; refuse the caller when the
        handler does not decide in time or fails before deciding."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._deadline, caller, tg)
            try:
                await self.handler(caller)
            except Refused:
                pass
            except Exception:
                log.exception("srt: handler failed for %s:%s", *caller.peer)
            finally:
                if not caller.decided:
                    caller.reject(RejectReason.PEER)
                if caller.session is not None:
                    caller.session.close("stream handler finished")
                    self.wake()
                tg.cancel_scope.cancel()

    async def _deadline(self, caller: Caller, tg: TaskGroup) -> None:
        with anyio.move_on_after(self.decision_timeout):
            await caller.decided_event.wait()
            return
        if not caller.decided:
            log.warning("srt: %s:%s refused: no decision in time", *caller.peer)
            caller.reject(RejectReason.TIMEOUT)
            tg.cancel_scope.cancel()
