"""RTCP (RFC 3550 section 6): sender reports read from publishers, receiver reports sent to
them, sender reports sent to players. Compound packets are split; unknown types skipped."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.media.rtp.packet import RTPError

SR = 200
RR = 201
SDES = 202
BYE = 203
NTP_EPOCH_OFFSET = 2_208_988_800
"""Seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)."""


@dataclass(slots=True, frozen=True)
class SenderReport:
    """What a sender said about its stream (RFC 3550 6.4.1)."""

    ssrc: int
    ntp: int
    """64-bit NTP timestamp (32.32 fixed point seconds since 1900)."""
    rtp_timestamp: int
    packets: int
    octets: int

    @property
    def middle_ntp(self) -> int:
        """The middle 32 bits of the NTP timestamp (the ``LSR`` of a receiver report)."""
        return (self.ntp >> 16) & 0xFFFFFFFF


@dataclass(slots=True, frozen=True)
class Goodbye:
    """A BYE: the listed sources left."""

    ssrcs: tuple[int, ...]


def parse_rtcp(data: bytes) -> list[SenderReport | Goodbye]:
    """The sender reports and BYEs of a compound RTCP packet (others are skipped)."""
    out: list[SenderReport | Goodbye] = []
    pos, n = 0, len(data)
    while pos + 4 <= n:
        first, ptype = data[pos], data[pos + 1]
        if first >> 6 != 2:
            raise RTPError(f"RTCP version {first >> 6}, not 2")
        length = 4 * (int.from_bytes(data[pos + 2 : pos + 4], "big") + 1)
        end = pos + length
        if end > n:
            raise RTPError("RTCP packet runs past the datagram")
        if ptype == SR and length >= 28:
            out.append(
                SenderReport(
                    ssrc=int.from_bytes(data[pos + 4 : pos + 8], "big"),
                    ntp=int.from_bytes(data[pos + 8 : pos + 16], "big"),
                    rtp_timestamp=int.from_bytes(data[pos + 16 : pos + 20], "big"),
                    packets=int.from_bytes(data[pos + 20 : pos + 24], "big"),
                    octets=int.from_bytes(data[pos + 24 : pos + 28], "big"),
                )
            )
        elif ptype == BYE:
            count = first & 0x1F
            ids = [
                int.from_bytes(data[pos + 4 + 4 * i : pos + 8 + 4 * i], "big")
                for i in range(count)
                if pos + 8 + 4 * i <= end
            ]
            out.append(Goodbye(tuple(ids)))
        pos = end
    return out


def ntp_time(unix_seconds: float) -> int:
    """A Unix time as a 64-bit NTP timestamp."""
    value = unix_seconds + NTP_EPOCH_OFFSET
    whole = int(value)
    return (whole << 32) | int((value - whole) * (1 << 32))


def receiver_report(
    ssrc: int,
    source: int,
    *,
    fraction_lost: int,
    cumulative_lost: int,
    highest_sequence: int,
    jitter: int = 0,
    last_sr: int = 0,
    delay_since_last_sr: int = 0,
) -> bytes:
    """A receiver report with one report block (RFC 3550 6.4.2)."""
    lost = max(-0x800000, min(0x7FFFFF, cumulative_lost)) & 0xFFFFFF
    body = (
        ssrc.to_bytes(4, "big")
        + source.to_bytes(4, "big")
        + bytes((fraction_lost & 0xFF,))
        + lost.to_bytes(3, "big")
        + (highest_sequence & 0xFFFFFFFF).to_bytes(4, "big")
        + (jitter & 0xFFFFFFFF).to_bytes(4, "big")
        + (last_sr & 0xFFFFFFFF).to_bytes(4, "big")
        + (delay_since_last_sr & 0xFFFFFFFF).to_bytes(4, "big")
    )
    return bytes((0x81, RR)) + (len(body) // 4).to_bytes(2, "big") + body


def sender_report(ssrc: int, ntp: int, rtp_timestamp: int, packets: int, octets: int) -> bytes:
    """A sender report without report blocks (RFC 3550 6.4.1)."""
    body = (
        ssrc.to_bytes(4, "big")
        + ntp.to_bytes(8, "big")
        + (rtp_timestamp & 0xFFFFFFFF).to_bytes(4, "big")
        + (packets & 0xFFFFFFFF).to_bytes(4, "big")
        + (octets & 0xFFFFFFFF).to_bytes(4, "big")
    )
    return bytes((0x80, SR)) + (len(body) // 4).to_bytes(2, "big") + body
