"""CRC-32/MPEG-2 (ISO/IEC 13818-1 Annex A): the checksum that ends every PSI section.

Polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR. This is not
zlib's CRC-32 (which is reflected), so it is table-driven here; PSI sections are a few
dozen bytes and arrive a few times a second, so a Python loop over bytes is cheap enough.
"""

from __future__ import annotations


def _make_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) if c & 0x80000000 else (c << 1)
        table.append(c & 0xFFFFFFFF)
    return tuple(table)


_TABLE = _make_table()


def crc32_mpeg2(data: bytes | bytearray | memoryview) -> int:
    """CRC-32/MPEG-2 of ``data``; a section including its own CRC gives 0."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in bytes(data):
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ b]
    return crc
