"""A sans-I/O SRT caller for tests: builds the handshake and data packets a libsrt caller
would send, so the listener side can be tested without sockets."""

from __future__ import annotations

from dataclasses import dataclass, field

from headwater_srt.wire.crypto import PayloadCipher, make_key_material
from headwater_srt.wire.handshake import (
    ExtensionFlag,
    ExtensionType,
    Handshake,
    HandshakeType,
    HsExtension,
    SrtFlag,
    encode_stream_id,
)
from headwater_srt.wire.packet import ControlPacket, DataPacket, KeySpec, parse_packet

LIVE_FLAGS = (
    SrtFlag.TSBPDSND
    | SrtFlag.TSBPDRCV
    | SrtFlag.CRYPT
    | SrtFlag.TLPKTDROP
    | SrtFlag.PERIODICNAK
    | SrtFlag.REXMITFLG
)


@dataclass
class FakeCaller:
    """Builds caller datagrams; ``passphrase`` makes it send a KMREQ and encrypt."""

    socket_id: int = 0x1234
    isn: int = 1000
    stream_id: str | None = None
    passphrase: str | None = None
    key_length: int = 16
    latency_ms: int = 120
    version: int = 5
    flags: int = LIVE_FLAGS
    extra: list[tuple[int, bytes]] = field(default_factory=list)
    peer_socket: int = 0

    def __post_init__(self) -> None:
        self.km = None
        self.cipher = None
        if self.passphrase:
            self.km, keys = make_key_material(self.passphrase, self.key_length)
            self.cipher = PayloadCipher(keys[KeySpec.EVEN], self.km.salt)

    def induction(self, ts: int = 0) -> bytes:
        hs = Handshake(4, HandshakeType.INDUCTION, self.socket_id, extension=2, isn=self.isn)
        return hs.packet(ts, 0)

    def conclusion(self, cookie: int, ts: int = 0) -> bytes:
        exts = [
            (
                ExtensionType.HSREQ,
                HsExtension(0x010503, self.flags, self.latency_ms, self.latency_ms).encode(),
            )
        ]
        flags = ExtensionFlag.HSREQ
        if self.km is not None:
            exts.append((ExtensionType.KMREQ, self.km.encode()))
            flags |= ExtensionFlag.KMREQ
        if self.stream_id is not None:
            exts.append((ExtensionType.SID, encode_stream_id(self.stream_id)))
            flags |= ExtensionFlag.CONFIG
        exts.extend(self.extra)
        hs = Handshake(
            self.version,
            HandshakeType.CONCLUSION,
            self.socket_id,
            cookie=cookie,
            encryption=self.key_length // 8 if self.km else 0,
            extension=flags,
            isn=self.isn,
            extensions=exts,
        )
        return hs.packet(ts, 0)

    def data(self, seq: int, payload: bytes, ts: int, *, rexmit: bool = False) -> bytes:
        key = KeySpec.NONE
        if self.cipher is not None:
            payload = self.cipher.apply(seq, payload)
            key = KeySpec.EVEN
        return DataPacket(
            seq, 1, ts, self.peer_socket, payload, key=key, retransmitted=rexmit
        ).encode()


def parse_handshake(datagram: bytes) -> Handshake:
    pkt = parse_packet(datagram)
    assert isinstance(pkt, ControlPacket) and pkt.type == 0
    return Handshake.parse(pkt.cif)
