"""SRT packet header codec: data and control packets (draft-sharabayko-srt §3, §3.1, §3.2).

Every SRT packet starts with a 16-byte header; the first bit tells a data packet (0) from a
control packet (1). Parsing takes a ``memoryview`` and never copies the payload.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from headwater import ProtocolError

HEADER = struct.Struct("!IIII")
"""The four 32-bit words of every SRT header."""
HEADER_SIZE = HEADER.size


class ControlType(IntEnum):
    """Control packet types (draft-sharabayko-srt §3.2, table "SRT control packet types")."""

    HANDSHAKE = 0x0000
    KEEPALIVE = 0x0001
    ACK = 0x0002
    NAK = 0x0003
    CONGESTION = 0x0004
    SHUTDOWN = 0x0005
    ACKACK = 0x0006
    DROPREQ = 0x0007
    PEERERROR = 0x0008
    USER = 0x7FFF


class PacketPosition(IntEnum):
    """The PP field of a data packet: where the packet sits in its message."""

    MIDDLE = 0b00
    LAST = 0b01
    FIRST = 0b10
    SOLO = 0b11


class KeySpec(IntEnum):
    """The KK field of a data packet: which stream key encrypted the payload."""

    NONE = 0b00
    EVEN = 0b01
    ODD = 0b10


@dataclass(slots=True)
class DataPacket:
    """A data packet (§3.1): sequence number, message flags, timestamp and payload."""

    seq: int
    msgno: int
    timestamp: int
    dest_socket: int
    payload: bytes | memoryview
    position: int = PacketPosition.SOLO
    in_order: bool = False
    key: int = KeySpec.NONE
    retransmitted: bool = False

    def encode(self) -> bytes:
        """Serialize the packet (header followed by the payload)."""
        word2 = (
            (self.position << 30)
            | (int(self.in_order) << 29)
            | (self.key << 27)
            | (int(self.retransmitted) << 26)
            | (self.msgno & 0x03FF_FFFF)
        )
        header = HEADER.pack(self.seq & 0x7FFF_FFFF, word2, self.timestamp, self.dest_socket)
        return header + bytes(self.payload)


@dataclass(slots=True)
class ControlPacket:
    """A control packet (§3.2): type, subtype, type-specific word and its CIF."""

    type: int
    timestamp: int
    dest_socket: int
    type_info: int = 0
    subtype: int = 0
    cif: bytes | memoryview = b""

    def encode(self) -> bytes:
        """Serialize the packet (header followed by the Control Information Field)."""
        word1 = 0x8000_0000 | ((self.type & 0x7FFF) << 16) | (self.subtype & 0xFFFF)
        return HEADER.pack(word1, self.type_info, self.timestamp, self.dest_socket) + bytes(
            self.cif
        )


def parse_packet(data: bytes | bytearray | memoryview) -> DataPacket | ControlPacket:
    """Parse one UDP datagram into a :class:`DataPacket` or a :class:`ControlPacket`.

    :raises ProtocolError: when the datagram is shorter than an SRT header.
    """
    if len(data) < HEADER_SIZE:
        raise ProtocolError(f"SRT packet of {len(data)} bytes is shorter than its header")
    w0, w1, ts, dest = HEADER.unpack_from(data)
    view = memoryview(data)[HEADER_SIZE:]
    if w0 & 0x8000_0000:
        return ControlPacket(
            type=(w0 >> 16) & 0x7FFF,
            subtype=w0 & 0xFFFF,
            type_info=w1,
            timestamp=ts,
            dest_socket=dest,
            cif=view,
        )
    return DataPacket(
        seq=w0,
        msgno=w1 & 0x03FF_FFFF,
        timestamp=ts,
        dest_socket=dest,
        payload=view,
        position=w1 >> 30,
        in_order=bool(w1 & 0x2000_0000),
        key=(w1 >> 27) & 0b11,
        retransmitted=bool(w1 & 0x0400_0000),
    )
