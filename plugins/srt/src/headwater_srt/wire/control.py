"""Control Information Field codecs of ACK, NAK, ACKACK, drop request and keep-alive
(draft-sharabayko-srt §3.2.3 to §3.2.9 and Appendix A "Packet Sequence List Coding").
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from headwater import ProtocolError

from .packet import ControlPacket, ControlType
from .seq import SEQ_MAX, seq_diff

_ACK_FULL = struct.Struct("!7I")
_U32 = struct.Struct("!I")
_TWO = struct.Struct("!II")


@dataclass(slots=True, frozen=True)
class Ack:
    """An ACK CIF (§3.2.4). A light ACK carries only ``last_seq`` (``ack_number`` 0)."""

    last_seq: int
    rtt: int = 0
    rtt_var: int = 0
    available_buffer: int = 0
    packet_rate: int = 0
    link_capacity: int = 0
    receive_rate: int = 0
    light: bool = False

    def cif(self) -> bytes:
        """The Control Information Field: 4 bytes for a light ACK, 28 for a full one."""
        if self.light:
            return _U32.pack(self.last_seq & SEQ_MAX)
        return _ACK_FULL.pack(
            self.last_seq & SEQ_MAX,
            self.rtt,
            self.rtt_var,
            self.available_buffer,
            self.packet_rate,
            self.link_capacity,
            self.receive_rate,
        )

    @classmethod
    def parse(cls, cif: bytes | memoryview) -> Ack:
        """Parse a light (4 bytes), small (16) or full (28) ACK CIF."""
        n = len(cif)
        if n < 4:
            raise ProtocolError(f"ACK with a {n}-byte CIF")
        if n < 28:
            words = struct.unpack_from(f"!{min(n // 4, 4)}I", cif)
            padded = (*words, 0, 0, 0, 0, 0, 0)[:7]
            return cls(padded[0] & SEQ_MAX, *padded[1:], light=n < 16)
        w = _ACK_FULL.unpack_from(cif)
        return cls(w[0] & SEQ_MAX, *w[1:])


_ACK_WORD0 = 0x8000_0000 | (ControlType.ACK << 16)
_LIGHT_ACK = struct.Struct("!IIIII")
_FULL_ACK = struct.Struct("!IIII7I")


def ack_packet(ack: Ack, ack_number: int, timestamp: int, dest: int) -> bytes:
    """Encode an ACK control packet carrying ``ack`` as ACK number ``ack_number``
    (one ``struct`` call: this is sent every 10 ms per connection)."""
    if ack.light:
        return _LIGHT_ACK.pack(_ACK_WORD0, 0, timestamp, dest, ack.last_seq & SEQ_MAX)
    return _FULL_ACK.pack(
        _ACK_WORD0,
        ack_number,
        timestamp,
        dest,
        ack.last_seq & SEQ_MAX,
        ack.rtt,
        ack.rtt_var,
        ack.available_buffer,
        ack.packet_rate,
        ack.link_capacity,
        ack.receive_rate,
    )


def full_ack_packet(
    last_seq: int,
    ack_number: int,
    timestamp: int,
    dest: int,
    rtt: int,
    rtt_var: int,
    available: int,
    packet_rate: int,
    byte_rate: int,
) -> bytes:
    """Encode a full ACK from its fields (what :func:`ack_packet` makes of a full
    :class:`Ack`, without the object: the timer path sends these for every connection);
    the link capacity is reported as the packet rate, as :class:`LiveReceiver` does."""
    return _FULL_ACK.pack(_ACK_WORD0, ack_number, timestamp, dest, last_seq & SEQ_MAX, rtt,
                          rtt_var, available, packet_rate, packet_rate, byte_rate)  # fmt: skip


def light_ack_packet(last_seq: int, timestamp: int, dest: int) -> bytes:
    """Encode a light ACK (ACK number 0, only the acknowledged sequence number)."""
    return _LIGHT_ACK.pack(_ACK_WORD0, 0, timestamp, dest, last_seq & SEQ_MAX)


def ackack_packet(ack_number: int, timestamp: int, dest: int) -> bytes:
    """Encode an ACKACK (§3.2.8) acknowledging full ACK ``ack_number``."""
    return ControlPacket(ControlType.ACKACK, timestamp, dest, type_info=ack_number).encode()


def keepalive_packet(timestamp: int, dest: int) -> bytes:
    """Encode a keep-alive (§3.2.3)."""
    return ControlPacket(ControlType.KEEPALIVE, timestamp, dest).encode()


def shutdown_packet(timestamp: int, dest: int) -> bytes:
    """Encode a shutdown (§3.2.7); libsrt sends it with a 4-byte zero CIF."""
    return ControlPacket(ControlType.SHUTDOWN, timestamp, dest, cif=b"\0\0\0\0").encode()


def encode_loss_list(ranges: Iterable[tuple[int, int]]) -> bytes:
    """Encode inclusive ``(first, last)`` sequence ranges as a loss list (Appendix A).

    A single number is one word with the top bit clear; a range is ``first | 0x80000000``
    followed by ``last``.
    """
    words: list[int] = []
    for first, last in ranges:
        if first == last:
            words.append(first & SEQ_MAX)
        else:
            words.append((first & SEQ_MAX) | 0x8000_0000)
            words.append(last & SEQ_MAX)
    return struct.pack(f"!{len(words)}I", *words)


def decode_loss_list(cif: bytes | memoryview) -> list[tuple[int, int]]:
    """Decode a NAK loss list into inclusive ``(first, last)`` ranges.

    :raises ProtocolError: on a truncated list, a range with no end, or a range running
        backwards by more than half the sequence space.
    """
    if len(cif) % 4:
        raise ProtocolError(f"NAK loss list of {len(cif)} bytes is not whole words")
    words = struct.unpack(f"!{len(cif) // 4}I", cif)
    out: list[tuple[int, int]] = []
    i, n = 0, len(words)
    while i < n:
        w = words[i]
        if w & 0x8000_0000:
            if i + 1 >= n:
                raise ProtocolError("NAK loss list ends inside a range")
            last = words[i + 1]
            if last & 0x8000_0000:
                raise ProtocolError("NAK range end has its range bit set")
            first = w & SEQ_MAX
            if seq_diff(last, first) < 0:
                raise ProtocolError("NAK range runs backwards")
            out.append((first, last))
            i += 2
        else:
            out.append((w, w))
            i += 1
    return out


def nak_packet(ranges: Iterable[tuple[int, int]], timestamp: int, dest: int) -> bytes:
    """Encode a NAK (§3.2.5) listing the lost ``ranges``."""
    return ControlPacket(ControlType.NAK, timestamp, dest, cif=encode_loss_list(ranges)).encode()


def parse_dropreq(cif: bytes | memoryview) -> tuple[int, int]:
    """Return the ``(first, last)`` sequence range of a message drop request (§3.2.9)."""
    if len(cif) < 8:
        raise ProtocolError(f"drop request with a {len(cif)}-byte CIF")
    first, last = _TWO.unpack_from(cif)
    return first & SEQ_MAX, last & SEQ_MAX
