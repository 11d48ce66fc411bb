"""RTP packets (RFC 3550 section 5.1): the fixed header, CSRCs, the header extension and
padding, parsed from and written to bytes."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from headwater.errors import MediaError

RTP_VERSION = 2


class RTPError(MediaError):
    """Bytes that are not an RTP (or RTCP) packet."""


@dataclass(slots=True)
class RTPPacket:
    """One RTP packet: header fields and payload (CSRCs and extension kept for completeness)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None
    """(profile, data) of the header extension, when present."""

    def to_bytes(self) -> bytes:
        """The packet as sent (no padding)."""
        first = (RTP_VERSION << 6) | len(self.csrc) | (0x10 if self.extension else 0)
        header = bytearray(
            (
                first,
                (0x80 if self.marker else 0) | (self.payload_type & 0x7F),
            )
        )
        header += (self.sequence & 0xFFFF).to_bytes(2, "big")
        header += (self.timestamp & 0xFFFFFFFF).to_bytes(4, "big")
        header += (self.ssrc & 0xFFFFFFFF).to_bytes(4, "big")
        for c in self.csrc:
            header += c.to_bytes(4, "big")
        if self.extension:
            profile, data = self.extension
            if len(data) % 4:
                raise ValueError("an RTP header extension is a whole number of 32-bit words")
            header += profile.to_bytes(2, "big") + (len(data) // 4).to_bytes(2, "big") + data
        return bytes(header) + self.payload


def rtp_header(payload_type: int, marker: bool, sequence: int, timestamp: int, ssrc: int) -> bytes:
    """The 12-byte fixed header of a packet without CSRCs or extension (the send path)."""
    return bytes(
        (0x80, (0x80 if marker else 0) | payload_type, (sequence >> 8) & 0xFF, sequence & 0xFF)
    ) + ((timestamp & 0xFFFFFFFF) << 32 | ssrc).to_bytes(8, "big")


RTP_FIXED = struct.Struct("!BBHII")
"""The fixed header: V/P/X/CC, M/PT, sequence, timestamp, SSRC (RFC 3550 5.1)."""


def parse_rtp(data: bytes) -> RTPPacket:
    """Parse one RTP packet; raise :class:`RTPError` when it is not one."""
    n = len(data)
    if n < 12:
        raise RTPError(f"RTP packet of {n} bytes is shorter than its header")
    first, second, sequence, timestamp, ssrc = RTP_FIXED.unpack_from(data)
    if first == 0x80:  # the common case: no padding, extension or CSRCs
        return RTPPacket(second & 0x7F, sequence, timestamp, ssrc, data[12:], second > 0x7F)
    if first >> 6 != RTP_VERSION:
        raise RTPError(f"RTP version {first >> 6}, not 2")
    pos = 12 + 4 * (first & 0x0F)
    if pos > n:
        raise RTPError("RTP CSRC list runs past the packet")
    csrc = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(12, pos, 4))
    extension = None
    if first & 0x10:
        if pos + 4 > n:
            raise RTPError("RTP header extension runs past the packet")
        profile = int.from_bytes(data[pos : pos + 2], "big")
        words = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 4 + 4 * words
        if end > n:
            raise RTPError("RTP header extension runs past the packet")
        extension = (profile, bytes(data[pos + 4 : end]))
        pos = end
    end = n
    if first & 0x20:
        pad = data[-1]
        if pad == 0 or pos + pad > n:
            raise RTPError("RTP padding runs past the payload")
        end = n - pad
    second = data[1]
    return RTPPacket(
        payload_type=second & 0x7F,
        sequence=(data[2] << 8) | data[3],
        timestamp=int.from_bytes(data[4:8], "big"),
        ssrc=int.from_bytes(data[8:12], "big"),
        payload=bytes(data[pos:end]),
        marker=bool(second & 0x80),
        csrc=csrc,
        extension=extension,
    )


def is_rtcp(data: bytes) -> bool:
    """True for an RTCP packet (payload types 192..223 in RTP's second byte, RFC 5761 4)."""
    return len(data) >= 2 and 192 <= data[1] <= 223
