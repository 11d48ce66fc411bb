"""One SRT listening port, sans-I/O: the listener side of the caller-listener handshake
(draft-sharabayko-srt §4.3.1) and the routing of datagrams to connections by destination
socket id (§4.1 stream multiplexing).

- INDUCTION → a response with a SYN cookie derived from the caller's address and the
  minute, so nothing is allocated before the caller proves its address (§4.3.1.1);
- CONCLUSION with a valid cookie → a :class:`ConnectRequest` the application decides on
  (:meth:`Endpoint.accept` or :meth:`Endpoint.reject`); the caller repeats its CONCLUSION
  until answered, and a repeat of an answered one gets the same answer again;
- HSv4 callers, file-mode callers, packet filters, bonding groups and other congestion
  controllers are refused with the matching rejection reason.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field

from headwater import ProtocolError

from .connection import Connection, ConnectionInfo
from .crypto import BadSecret, StreamDecryptor
from .handshake import (
    SRT_MAGIC,
    ExtensionFlag,
    ExtensionType,
    Handshake,
    HandshakeType,
    HsExtension,
    SrtFlag,
    decode_stream_id,
    encode_peer_ip,
)
from .keymaterial import KeyMaterial
from .packet import ControlPacket, ControlType, parse_packet
from .rejection import RejectReason

SRT_VERSION = 0x0001_0503
"""The SRT version we announce in HSRSP (behaves like libsrt 1.5.3 for a live caller)."""
ANSWER_TTL = 10_000_000
"""How long an answered CONCLUSION's reply is kept for repeats, µs."""
MAX_PENDING = 1024
"""Most CONCLUSIONs awaiting the application's decision on one port."""

Address = tuple[str, int]


@dataclass(slots=True)
class ConnectRequest:
    """A caller's verified HSv5 CONCLUSION, waiting for the application's decision."""

    peer: Address
    handshake: Handshake
    hsreq: HsExtension
    stream_id: str | None
    key_material: KeyMaterial | None
    km_raw: bytes | None
    timestamp: int  # the CONCLUSION's packet timestamp (peer clock, µs)
    arrival: int  # local µs
    decided: bool = field(default=False)
    checked: tuple[str, StreamDecryptor] | None = field(default=None, repr=False)
    """The passphrase :meth:`Endpoint.check_secret` found right and the decryptor it made
    (so :meth:`Endpoint.accept` does not derive the keys again: PBKDF2 is the costliest
    step of a handshake, and hundreds of callers may connect at once)."""

    @property
    def caller_socket_id(self) -> int:
        """The caller's socket id."""
        return self.handshake.socket_id

    @property
    def encrypted(self) -> bool:
        """Whether the caller sent key material (it has a passphrase)."""
        return self.key_material is not None


@dataclass(slots=True)
class _Answer:
    datagram: bytes
    expires: int
    connection: Connection | None


class Endpoint:
    """Handshakes and connections of one UDP port (no I/O: datagrams in and out)."""

    def __init__(
        self,
        *,
        latency_ms: int = 120,
        secret: bytes | None = None,
        clock_start: int = 0,
        idle_timeout: int = 5_000_000,
    ) -> None:
        self.latency_ms = latency_ms
        self.idle_timeout = idle_timeout
        self.connections: dict[int, tuple[Connection, Address]] = {}
        """Established connections by our socket id, with the peer address."""
        self.outgoing: list[tuple[bytes, Address]] = []
        """Datagrams to send; the transport empties this list."""
        self.requests: list[ConnectRequest] = []
        """New CONCLUSIONs for the application; the transport empties this list."""
        self._secret = secret or os.urandom(16)
        self._start = clock_start
        self._pending: dict[tuple[Address, int], ConnectRequest] = {}
        self._answers: dict[tuple[Address, int], _Answer] = {}

    # -- datagrams ------------------------------------------------------------------------

    def datagram_received(self, data: bytes, peer: Address, now: int) -> Connection | None:
        """Handle one datagram; returns the connection it went to, if any.

        Malformed handshakes are dropped silently (a listener does not answer garbage);
        a connection's own protocol error closes that connection only.
        """
        if len(data) < 16:
            return None
        dest = int.from_bytes(data[12:16], "big")
        if dest:
            entry = self.connections.get(dest)
            if entry is None or entry[1] != peer:
                return None
            conn = entry[0]
            try:
                conn.receive(data, now)
            except ProtocolError as exc:
                conn.close(now, f"protocol error: {exc}")
            if conn.outgoing:
                self.flush(conn, peer)
            return conn
        try:
            pkt = parse_packet(data)
            if isinstance(pkt, ControlPacket) and pkt.type == ControlType.HANDSHAKE:
                self._on_handshake(pkt, peer, now)
        except ProtocolError:
            pass
        return None

    def _on_handshake(self, pkt: ControlPacket, peer: Address, now: int) -> None:
        hs = Handshake.parse(pkt.cif)
        if hs.type == HandshakeType.INDUCTION:
            reply = Handshake(
                version=5,
                type=HandshakeType.INDUCTION,
                socket_id=0,
                cookie=self._cookie(peer, now),
                extension=SRT_MAGIC,
                isn=hs.isn,
                mtu=hs.mtu,
                flow_window=hs.flow_window,
                peer_ip=encode_peer_ip(peer[0]),
            )
            self._reply(reply, hs.socket_id, peer, now)
            return
        if hs.type != HandshakeType.CONCLUSION:
            return
        if hs.cookie not in (self._cookie(peer, now), self._cookie(peer, now, -1)):
            return
        key = (peer, hs.socket_id)
        answer = self._answers.get(key)
        if answer is not None and answer.expires > now:
            self.outgoing.append((answer.datagram, peer))
            return
        if key in self._pending:
            return
        if hs.version != 5:
            self._refuse(hs, peer, now, RejectReason.VERSION)
            return
        request = self._request(hs, pkt.timestamp, peer, now)
        if isinstance(request, RejectReason):
            self._refuse(hs, peer, now, request)
            return
        if len(self._pending) >= MAX_PENDING:
            self._refuse(hs, peer, now, RejectReason.BACKLOG)
            return
        self._pending[key] = request
        self.requests.append(request)

    def _request(
        self, hs: Handshake, timestamp: int, peer: Address, now: int
    ) -> ConnectRequest | RejectReason:
        raw = hs.find(ExtensionType.HSREQ)
        if raw is None:
            return RejectReason.ROGUE
        hsreq = HsExtension.parse(raw)
        if hsreq.flags & SrtFlag.STREAM:
            return RejectReason.MESSAGEAPI
        if hs.find(ExtensionType.FILTER) is not None:
            return RejectReason.FILTER
        if hs.find(ExtensionType.GROUP) is not None:
            return RejectReason.GROUP
        congestion = hs.find(ExtensionType.CONGESTION)
        if congestion is not None and decode_stream_id(congestion) not in ("", "live"):
            return RejectReason.CONGESTION
        sid_raw = hs.find(ExtensionType.SID)
        stream_id = decode_stream_id(sid_raw) if sid_raw is not None else None
        km_raw = hs.find(ExtensionType.KMREQ)
        km = KeyMaterial.parse(km_raw) if km_raw is not None else None
        return ConnectRequest(peer, hs, hsreq, stream_id, km, km_raw, timestamp, now)

    # -- decisions ------------------------------------------------------------------------

    def check_secret(self, request: ConnectRequest, passphrase: str | None) -> RejectReason | None:
        """What :meth:`accept` would refuse the caller with for ``passphrase``, or None."""
        km = request.key_material
        if bool(passphrase) != (km is not None):
            return RejectReason.UNSECURE
        if km is not None and passphrase:
            try:
                request.checked = (passphrase, StreamDecryptor(passphrase, km))
            except BadSecret:
                return RejectReason.BADSECRET
        return None

    def accept(
        self, request: ConnectRequest, passphrase: str | None, now: int
    ) -> Connection | RejectReason:
        """Accept a caller, checking its key material against ``passphrase``.

        :returns: the new connection, or the reason it was refused (``UNSECURE`` when one
            side has a passphrase and the other has none, ``BADSECRET`` when they differ);
            the answer is queued in :attr:`outgoing` either way.
        """
        decryptor: StreamDecryptor | None = None
        km = request.key_material
        if bool(passphrase) != (km is not None):
            self.reject(request, RejectReason.UNSECURE, now)
            return RejectReason.UNSECURE
        if km is not None and passphrase:
            try:
                checked = request.checked
                if checked is not None and checked[0] == passphrase:
                    decryptor = checked[1]
                else:
                    decryptor = StreamDecryptor(passphrase, km)
            except BadSecret:
                self.reject(request, RejectReason.BADSECRET, now)
                return RejectReason.BADSECRET
        hs = request.handshake
        socket_id = self._new_socket_id()
        latency = max(self.latency_ms, request.hsreq.send_delay)
        peer_latency = request.hsreq.recv_delay
        info = ConnectionInfo(
            socket_id=socket_id,
            peer_socket_id=hs.socket_id,
            isn=hs.isn,
            latency=latency * 1000,
            time_base=request.arrival - request.timestamp,
            start=self._start,
            stream_id=request.stream_id,
        )
        conn = Connection(info, decryptor, now, idle_timeout=self.idle_timeout)
        flags = (
            SrtFlag.TSBPDSND
            | SrtFlag.TSBPDRCV
            | SrtFlag.CRYPT
            | SrtFlag.TLPKTDROP
            | SrtFlag.PERIODICNAK
            | SrtFlag.REXMITFLG
        )
        extensions = [
            (ExtensionType.HSRSP, HsExtension(SRT_VERSION, flags, latency, peer_latency).encode())
        ]
        ext_flags = ExtensionFlag.HSREQ
        if request.km_raw is not None:
            extensions.append((ExtensionType.KMRSP, request.km_raw))
            ext_flags |= ExtensionFlag.KMREQ
        reply = Handshake(
            version=5,
            type=HandshakeType.CONCLUSION,
            socket_id=socket_id,
            cookie=0,
            encryption=hs.encryption,
            extension=ext_flags,
            isn=hs.isn,
            mtu=min(hs.mtu, 1500),
            flow_window=min(hs.flow_window, 8192),
            peer_ip=encode_peer_ip(request.peer[0]),
            extensions=extensions,
        )
        datagram = self._reply(reply, hs.socket_id, request.peer, now)
        self.connections[socket_id] = (conn, request.peer)
        self._settle(request, datagram, now, conn)
        return conn

    def reject(self, request: ConnectRequest, reason: RejectReason, now: int) -> None:
        """Refuse a caller with ``reason`` (sent in the CONCLUSION's Handshake Type)."""
        datagram = self._refuse(request.handshake, request.peer, now, reason)
        self._settle(request, datagram, now, None)

    def _refuse(self, hs: Handshake, peer: Address, now: int, reason: RejectReason) -> bytes:
        reply = Handshake(
            version=5,
            type=reason.handshake_type,
            socket_id=0,
            isn=hs.isn,
            mtu=hs.mtu,
            flow_window=hs.flow_window,
            peer_ip=encode_peer_ip(peer[0]),
        )
        datagram = self._reply(reply, hs.socket_id, peer, now)
        self._answers[(peer, hs.socket_id)] = _Answer(datagram, now + ANSWER_TTL, None)
        return datagram

    def _settle(
        self, request: ConnectRequest, datagram: bytes, now: int, conn: Connection | None
    ) -> None:
        request.decided = True
        key = (request.peer, request.caller_socket_id)
        self._pending.pop(key, None)
        self._answers[key] = _Answer(datagram, now + ANSWER_TTL, conn)

    # -- housekeeping ---------------------------------------------------------------------

    def tick(self, now: int, parity: int | None = None) -> list[Connection]:
        """Advance every connection's timers (with ``parity`` 0 or 1, only those whose
        socket id has that parity: a transport ticking every 10 ms then times each
        connection every 20 ms); returns the connections that closed (of those ticked)."""
        closed: list[Connection] = []
        for socket_id, (conn, peer) in list(self.connections.items()):
            if parity is not None and (socket_id ^ parity) & 1:
                continue
            conn.tick(now)
            if conn.outgoing:
                self.outgoing.extend((d, peer) for d in conn.outgoing)
                conn.outgoing.clear()
            if conn.closed and not conn.has_payload:
                del self.connections[socket_id]
                closed.append(conn)
        if self._answers and len(self._answers) > 64:
            for key in [k for k, a in self._answers.items() if a.expires <= now]:
                del self._answers[key]
        return closed

    def flush(self, conn: Connection, peer: Address) -> None:
        """Move a connection's queued datagrams to :attr:`outgoing`."""
        if conn.outgoing:
            self.outgoing.extend((d, peer) for d in conn.outgoing)
            conn.outgoing.clear()

    def close_all(self, now: int, reason: str = "listener closed") -> None:
        """Close every connection (each peer gets a SHUTDOWN)."""
        for conn, peer in self.connections.values():
            conn.close(now, reason)
            self.flush(conn, peer)

    def _reply(self, hs: Handshake, dest: int, peer: Address, now: int) -> bytes:
        datagram = hs.packet((now - self._start) & 0xFFFF_FFFF, dest)
        self.outgoing.append((datagram, peer))
        return datagram

    def _cookie(self, peer: Address, now: int, minute_offset: int = 0) -> int:
        minute = now // 60_000_000 + minute_offset
        msg = f"{peer[0]}:{peer[1]}:{minute}".encode()
        return int.from_bytes(hmac.new(self._secret, msg, hashlib.sha256).digest()[:4], "big")

    def _new_socket_id(self) -> int:
        while True:
            socket_id = secrets.randbits(30) + 1
            if socket_id not in self.connections:
                return socket_id
