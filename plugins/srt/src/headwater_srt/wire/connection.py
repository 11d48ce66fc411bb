"""One established SRT connection, receiving side (sans-I/O state machine).

Bytes in (:meth:`Connection.receive`), time in (:meth:`Connection.tick`), datagrams and
payload out (:attr:`Connection.outgoing`, :meth:`Connection.take_payload`). It decrypts,
feeds the live receiver, answers ACKACK/KMREQ/SHUTDOWN, sends keep-alives and notices an
idle peer (draft-sharabayko-srt §3.2 control packets, §4 data transmission, §6.1.6
re-keying).

The hot path is a data packet in sequence: one ``struct`` read, a key check and an
append of the whole datagram to the receive buffer; no packet object, no copy, no timer.
Datagrams stay as they came (encrypted) until they are handed over: then
:meth:`take_payload` opens everything delivered since the last hand-over in one batch
(:func:`~headwater_srt.wire.crypto.open_datagrams`: one AES call and one XOR for the lot)
and returns the payloads joined. A KMREQ may replace a key, so before one is applied
every datagram still sealed under the old keys is opened in place
(:meth:`Connection._open_buffered`): each packet is decrypted with the keys in force when
it arrived, as with per-packet decryption.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from headwater import ProtocolError

from .control import (
    ackack_packet,
    full_ack_packet,
    keepalive_packet,
    light_ack_packet,
    nak_packet,
    parse_dropreq,
    shutdown_packet,
)
from .crypto import BadSecret, StreamDecryptor, open_datagram, open_datagrams
from .handshake import ExtensionType
from .keymaterial import KeyMaterial, KmState
from .packet import HEADER_SIZE, ControlPacket, ControlType, parse_packet
from .receiver import LiveReceiver

_DATA_HEAD = struct.Struct("!III")
_ACKACK = (0x8000 | ControlType.ACKACK).to_bytes(2, "big")
"""The first two bytes of an ACKACK (control bit and type)."""
KEEPALIVE_INTERVAL = 1_000_000
"""Send a keep-alive after this long without sending anything, µs."""
IDLE_TIMEOUT = 5_000_000
"""Close when the peer sends nothing for this long (libsrt's SRTO_PEERIDLETIMEO), µs."""


@dataclass(slots=True, frozen=True)
class ConnectionInfo:
    """What the handshake settled for a connection."""

    socket_id: int
    peer_socket_id: int
    isn: int
    latency: int  # µs
    time_base: int  # local µs at which the peer's timestamp was 0
    start: int  # local µs origin of our own timestamps
    stream_id: str | None = None


class Connection:
    """The receiving side of one SRT connection."""

    def __init__(
        self,
        info: ConnectionInfo,
        decryptor: StreamDecryptor | None,
        now: int,
        *,
        idle_timeout: int = IDLE_TIMEOUT,
    ) -> None:
        self.info = info
        self.decryptor = decryptor
        self.receiver = LiveReceiver(
            info.isn, info.latency, info.time_base, now=now, overhead=HEADER_SIZE
        )
        self.idle_timeout = idle_timeout
        self.outgoing: list[bytes] = []
        """Datagrams to send to the peer; the transport empties this list."""
        self.closed = False
        self.close_reason = ""
        self.undecryptable = 0
        self._delivered: list[bytes] = []
        """Whole datagrams delivered (in order) and not yet handed over."""
        self.pending_since = 0
        """When the oldest datagram waiting for :meth:`take_payload` was delivered, µs."""
        self._keys = decryptor.keys() if decryptor is not None else frozenset()
        self._on_data = self.receiver.on_data
        self._last_recv = now
        self._last_send = now

    # -- input ----------------------------------------------------------------------------

    def receive(self, data: bytes, now: int) -> None:
        """Handle one datagram addressed to this connection.

        :raises ProtocolError: on malformed bytes (the caller closes the connection).
        """
        if self.closed:
            return
        self._last_recv = now
        if len(data) >= HEADER_SIZE and not data[0] & 0x80:
            # data packets, the hot path: no packet object, one struct read
            seq, word2, ts = _DATA_HEAD.unpack_from(data)
            key = (word2 >> 27) & 0b11
            if key and key not in self._keys:
                if self.decryptor is None:
                    raise ProtocolError("encrypted data on a connection without encryption")
                self.undecryptable += 1
                return
            lost = self._on_data(seq, ts, data, now, rexmit=word2 & 0x0400_0000)
            if lost:
                self._send(nak_packet(lost, self._ts(now), self.info.peer_socket_id), now)
                self.receiver.nak_sent(now)
            return
        if data[:2] == _ACKACK and len(data) >= HEADER_SIZE:  # one per full ACK sent
            _word0, ack_number, ts = _DATA_HEAD.unpack_from(data)
            self.receiver.on_ackack(ack_number, ts, now)
            return
        pkt = parse_packet(data)
        assert isinstance(pkt, ControlPacket)
        self._on_control(pkt, now)

    def _open_buffered(self) -> None:
        """Decrypt every buffered datagram in place (before the keys change)."""
        decryptor = self.decryptor
        assert decryptor is not None
        self._delivered = [open_datagram(d, decryptor) for d in self._delivered]
        self.receiver.map_items(lambda d: open_datagram(d, decryptor))

    def _on_control(self, pkt: ControlPacket, now: int) -> None:
        t = pkt.type
        dest = self.info.peer_socket_id
        if t == ControlType.ACKACK:
            self.receiver.on_ackack(pkt.type_info, pkt.timestamp, now)
        elif t == ControlType.KEEPALIVE:
            pass
        elif t == ControlType.SHUTDOWN:
            self._delivered.extend(self.receiver.drain())
            self._close("peer shut down")
        elif t == ControlType.ACK:
            if pkt.type_info:
                self._send(ackack_packet(pkt.type_info, self._ts(now), dest), now)
        elif t == ControlType.DROPREQ:
            first, last = parse_dropreq(pkt.cif)
            self.receiver.on_dropreq(first, last)
        elif t == ControlType.USER and pkt.subtype == ExtensionType.KMREQ:
            self._on_kmreq(pkt, now)
        # NAK, congestion warning, peer error, handshake repeats: nothing to do for a
        # receive-only connection.

    def _on_kmreq(self, pkt: ControlPacket, now: int) -> None:
        km = KeyMaterial.parse(pkt.cif)
        reply: bytes
        if self.decryptor is None:
            reply = KmState.NOSECRET.to_bytes(4, "big")
        else:
            try:
                self._open_buffered()  # what arrived so far, with the keys of its arrival
                self.decryptor.update(km)
                self._keys = self.decryptor.keys()
                reply = bytes(pkt.cif)
            except BadSecret:
                reply = KmState.BADSECRET.to_bytes(4, "big")
        out = ControlPacket(
            ControlType.USER,
            self._ts(now),
            self.info.peer_socket_id,
            subtype=ExtensionType.KMRSP,
            cif=reply,
        )
        self._send(out.encode(), now)

    # -- time -----------------------------------------------------------------------------

    def tick(self, now: int) -> None:
        """Advance timers: deliver due payload, send ACK/NAK/keep-alive, detect idleness.

        This runs for every connection every 10 ms, so it makes no object unless
        something is due."""
        if self.closed:
            return
        rcv = self.receiver
        delivered = rcv.deliver(now)
        if delivered:
            if not self._delivered:
                self.pending_since = now
            self._delivered += delivered
        due = rcv.ack_due(now)
        if due is not None:
            ack_seq, number = due
            dest = self.info.peer_socket_id
            ts = (now - self.info.start) & 0xFFFF_FFFF
            if number:
                datagram = full_ack_packet(
                    ack_seq, number, ts, dest, rcv.rtt, rcv.rtt_var, rcv.available,
                    rcv.packet_rate, rcv.byte_rate,
                )  # fmt: skip
            else:
                datagram = light_ack_packet(ack_seq, ts, dest)
            self.outgoing.append(datagram)
            self._last_send = now
        nak = rcv.nak_due(now)
        if nak:
            self._send(nak_packet(nak, self._ts(now), self.info.peer_socket_id), now)
        if now - self._last_send >= KEEPALIVE_INTERVAL:
            self._send(keepalive_packet(self._ts(now), self.info.peer_socket_id), now)
        if now - self._last_recv >= self.idle_timeout:
            self._close("peer idle timeout")

    # -- output ---------------------------------------------------------------------------

    def take_payload(self) -> bytes:
        """Return (and forget) the payload delivered so far, in order, as one buffer
        (decrypted here, in one batch)."""
        if not self._delivered:
            return b""
        datagrams, self._delivered = self._delivered, []
        return open_datagrams(datagrams, self.decryptor)

    @property
    def pending(self) -> int:
        """Packets delivered and waiting for :meth:`take_payload`."""
        return len(self._delivered)

    @property
    def has_payload(self) -> bool:
        """Whether delivered payload is waiting for :meth:`take_payload`."""
        return bool(self._delivered)

    def close(self, now: int, reason: str = "closed by the server") -> None:
        """Close from our side, telling the peer with a SHUTDOWN."""
        if self.closed:
            return
        self._send(shutdown_packet(self._ts(now), self.info.peer_socket_id), now)
        self._close(reason)

    def _close(self, reason: str) -> None:
        self.closed = True
        self.close_reason = reason

    def _send(self, datagram: bytes, now: int) -> None:
        self.outgoing.append(datagram)
        self._last_send = now

    def _ts(self, now: int) -> int:
        return (now - self.info.start) & 0xFFFF_FFFF
