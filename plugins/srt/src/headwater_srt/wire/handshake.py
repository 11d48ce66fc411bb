"""The SRT handshake CIF and its extensions (draft-sharabayko-srt §3.2.1, §4.3).

The handshake body is 48 bytes followed, in HSv5 CONCLUSION messages, by extension blocks
(type, length in 32-bit words, contents): HSREQ/HSRSP, KMREQ/KMRSP, the stream id (SID) and
others that a listener may ignore.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from headwater import ProtocolError

from .packet import ControlPacket, ControlType

_BODY = struct.Struct("!IHHIIIIII16s")
_EXT = struct.Struct("!HH")
_HSREQ = struct.Struct("!IIHH")

SRT_MAGIC = 0x4A17
"""The Extension Field of a listener's INDUCTION response (§4.3.1.2)."""
MAX_STREAM_ID = 512
"""Longest stream id the SID extension may carry, in bytes (§3.2.1.3)."""


class HandshakeType(IntEnum):
    """The Handshake Type field; values from 1000 up are rejections (see ``rejection``)."""

    DONE = 0xFFFF_FFFD
    AGREEMENT = 0xFFFF_FFFE
    CONCLUSION = 0xFFFF_FFFF
    WAVEAHAND = 0x0000_0000
    INDUCTION = 0x0000_0001


class ExtensionFlag(IntFlag):
    """Bits of the Extension Field in a CONCLUSION (§3.2.1 "Handshake Extension Flags")."""

    HSREQ = 0x1
    KMREQ = 0x2
    CONFIG = 0x4


class ExtensionType(IntEnum):
    """Handshake extension block types (§3.2.1 "Handshake Extension Type values")."""

    HSREQ = 1
    HSRSP = 2
    KMREQ = 3
    KMRSP = 4
    SID = 5
    CONGESTION = 6
    FILTER = 7
    GROUP = 8


class SrtFlag(IntFlag):
    """SRT Flags of the HSREQ/HSRSP extension (§3.2.1.1.1)."""

    TSBPDSND = 0x01
    TSBPDRCV = 0x02
    CRYPT = 0x04
    TLPKTDROP = 0x08
    PERIODICNAK = 0x10
    REXMITFLG = 0x20
    STREAM = 0x40
    PACKET_FILTER = 0x80


@dataclass(slots=True, frozen=True)
class HsExtension:
    """The HSREQ/HSRSP contents (§3.2.1.1): library version, flags and TSBPD delays (ms)."""

    version: int
    flags: int
    recv_delay: int
    send_delay: int

    def encode(self) -> bytes:
        """The three-word extension contents."""
        return _HSREQ.pack(self.version, self.flags, self.recv_delay, self.send_delay)

    @classmethod
    def parse(cls, data: bytes | memoryview) -> HsExtension:
        """Parse HSREQ/HSRSP contents (at least 12 bytes)."""
        if len(data) < _HSREQ.size:
            raise ProtocolError(f"HSREQ of {len(data)} bytes, expected {_HSREQ.size}")
        return cls(*_HSREQ.unpack_from(data))


def encode_stream_id(stream_id: str) -> bytes:
    """Encode a stream id as SID contents: UTF-8, zero-padded to whole 32-bit words, each
    word byte-swapped (the contents are "32-bit little endian words", §3.2.1.3)."""
    raw = stream_id.encode()
    if len(raw) > MAX_STREAM_ID:
        raise ValueError(f"stream id longer than {MAX_STREAM_ID} bytes")
    raw += b"\0" * (-len(raw) % 4)
    return _swap_words(raw)


def decode_stream_id(data: bytes | memoryview) -> str:
    """Decode SID contents back into the stream id (trailing zero padding removed).

    :raises ProtocolError: on a stream id longer than 512 bytes or not UTF-8.
    """
    if len(data) > MAX_STREAM_ID:
        raise ProtocolError(f"stream id of {len(data)} bytes exceeds {MAX_STREAM_ID}")
    raw = _swap_words(bytes(data)).rstrip(b"\0")
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError("stream id is not UTF-8") from exc


def _swap_words(raw: bytes) -> bytes:
    n = len(raw) // 4
    return struct.pack(f"<{n}I", *struct.unpack(f">{n}I", raw[: n * 4]))


def encode_peer_ip(host: str) -> bytes:
    """Encode an address as the 128-bit Peer IP field the way libsrt does: IPv4 as one
    little-endian word followed by zeros, IPv6 as four little-endian words."""
    addr = ipaddress.ip_address(host)
    raw = addr.packed
    if addr.version == 4:
        return raw[::-1] + b"\0" * 12
    return b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))


@dataclass(slots=True)
class Handshake:
    """A handshake CIF (§3.2.1) with its extension blocks as ``(type, contents)`` pairs."""

    version: int
    type: int
    socket_id: int
    cookie: int = 0
    encryption: int = 0
    extension: int = 0
    isn: int = 0
    mtu: int = 1500
    flow_window: int = 8192
    peer_ip: bytes = b"\0" * 16
    extensions: list[tuple[int, bytes]] = field(default_factory=list)

    def encode(self) -> bytes:
        """Serialize the CIF and its extensions."""
        parts = [
            _BODY.pack(
                self.version,
                self.encryption,
                self.extension,
                self.isn,
                self.mtu,
                self.flow_window,
                self.type,
                self.socket_id,
                self.cookie,
                self.peer_ip,
            )
        ]
        for ext_type, contents in self.extensions:
            if len(contents) % 4:
                raise ValueError("handshake extension contents must be whole 32-bit words")
            parts.append(_EXT.pack(ext_type, len(contents) // 4))
            parts.append(contents)
        return b"".join(parts)

    def packet(self, timestamp: int, dest: int) -> bytes:
        """This handshake as a whole control packet."""
        return ControlPacket(ControlType.HANDSHAKE, timestamp, dest, cif=self.encode()).encode()

    @classmethod
    def parse(cls, cif: bytes | memoryview) -> Handshake:
        """Parse a handshake CIF.

        :raises ProtocolError: when the body is short or an extension overruns the packet.
        """
        if len(cif) < _BODY.size:
            raise ProtocolError(f"handshake of {len(cif)} bytes, expected {_BODY.size}")
        (ver, enc, ext, isn, mtu, flow, hstype, sock, cookie, ip) = _BODY.unpack_from(cif)
        hs = cls(ver, hstype, sock, cookie, enc, ext, isn & 0x7FFF_FFFF, mtu, flow, ip)
        pos, end = _BODY.size, len(cif)
        while pos + 4 <= end:
            ext_type, words = _EXT.unpack_from(cif, pos)
            pos += 4
            size = words * 4
            if pos + size > end:
                raise ProtocolError(
                    f"handshake extension {ext_type} of {size} bytes overruns the packet"
                )
            hs.extensions.append((ext_type, bytes(cif[pos : pos + size])))
            pos += size
        return hs

    def find(self, ext_type: int) -> bytes | None:
        """Return the contents of the first extension of ``ext_type``, or None."""
        for t, contents in self.extensions:
            if t == ext_type:
                return contents
        return None
