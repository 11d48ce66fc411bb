"""MPEG-TS packets (ISO/IEC 13818-1 2.4.3.2 and 2.4.3.4): header, adaptation field, PCR.

A transport packet is 188 bytes: a 4-byte header (sync byte 0x47, flags, 13-bit PID,
scrambling, adaptation-field control, continuity counter), an optional adaptation field
(PCR, random-access and discontinuity indicators, stuffing) and the payload. These helpers
work on whole packets with ``struct`` and slicing; the reader's hot loop inlines the same
arithmetic.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

PACKET_SIZE = 188
SYNC_BYTE = 0x47
NULL_PID = 0x1FFF
PAT_PID = 0x0000
MAX_PID = 0x1FFF

# Header bit fields, on the header read as one big-endian 32-bit integer.
TEI = 0x00800000
PUSI = 0x00400000
PRIORITY = 0x00200000
AF_PRESENT = 0x20
PAYLOAD_PRESENT = 0x10

# Adaptation field flags (2.4.3.5).
AF_DISCONTINUITY = 0x80
AF_RANDOM_ACCESS = 0x40
AF_PCR = 0x10

PCR_WRAP = 1 << 33
"""The PCR base and PTS/DTS are 33-bit counters of the 90 kHz clock."""

HEADER = struct.Struct(">I")


class AdaptationField(NamedTuple):
    """The adaptation-field flags a demuxer acts on."""

    discontinuity: bool
    random_access: bool
    pcr: int | None
    """The 27 MHz PCR (base * 300 + extension), or None."""


def parse_adaptation_field(packet: bytes | memoryview, offset: int = 0) -> AdaptationField:
    """Parse the adaptation field of the packet at ``offset`` (caller checked it is present).

    A zero-length field (a single stuffing byte) has no flags.
    """
    length = packet[offset + 4]
    if length == 0:
        return AdaptationField(False, False, None)
    flags = packet[offset + 5]
    pcr = None
    if flags & AF_PCR and length >= 7:
        raw = int.from_bytes(packet[offset + 6 : offset + 12], "big")
        pcr = (raw >> 15) * 300 + (raw & 0x1FF)
    return AdaptationField(bool(flags & AF_DISCONTINUITY), bool(flags & AF_RANDOM_ACCESS), pcr)


def encode_pcr(pcr: int) -> bytes:
    """Six bytes of program_clock_reference for a 27 MHz value (base wraps at 2**33)."""
    base = (pcr // 300) % PCR_WRAP
    ext = pcr % 300
    return ((base << 15) | 0x7E00 | ext).to_bytes(6, "big")


def header(
    pid: int, cc: int, *, pusi: bool = False, adaptation: bool = False, payload: bool = True
) -> bytes:
    """Build a 4-byte packet header."""
    afc = (AF_PRESENT if adaptation else 0) | (PAYLOAD_PRESENT if payload else 0)
    value = (SYNC_BYTE << 24) | (PUSI if pusi else 0) | (pid << 8) | afc | (cc & 0xF)
    return HEADER.pack(value)
