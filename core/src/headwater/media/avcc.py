"""Length-prefixed NAL units (ISO/IEC 14496-15 "AVCC"/"HVCC" sample format), used by FLV and MP4."""

from __future__ import annotations

import struct
from collections.abc import Iterable

from headwater.errors import MediaError

_U32 = struct.Struct(">I")


class AVCCError(MediaError):
    """A length-prefixed NAL buffer is malformed (a length runs past the end)."""


def split_avcc(data: bytes | memoryview, length_size: int = 4) -> list[bytes]:
    """Split length-prefixed NAL units; raise :class:`AVCCError` on a truncated unit.

    Hot path (every H.264/H.265 frame from FLV or MP4): one ``struct`` read per length,
    one copy per NAL unit.
    """
    n = len(data)
    out: list[bytes] = []
    pos = 0
    if length_size == 4:
        unpack = _U32.unpack_from
        while pos + 4 <= n:
            start = pos + 4
            pos = start + unpack(data, start - 4)[0]
            if pos > n:
                raise AVCCError(
                    f"NAL unit of {pos - start} bytes runs past the end of a {n}-byte sample"
                )
            if pos > start:
                out.append(bytes(data[start:pos]))
    else:
        mv = memoryview(data)
        while pos + length_size <= n:
            size = int.from_bytes(mv[pos : pos + length_size], "big")
            pos += length_size
            if pos + size > n:
                raise AVCCError(f"NAL unit of {size} bytes runs past the end of a {n}-byte sample")
            if size:
                out.append(bytes(mv[pos : pos + size]))
            pos += size
    if pos != n:
        raise AVCCError(f"{n - pos} stray bytes after the last NAL unit")
    return out


def join_avcc(nalus: Iterable[bytes], length_size: int = 4) -> bytes:
    """Prefix each NAL unit with its big-endian length and concatenate."""
    parts: list[bytes] = []
    for n in nalus:
        parts.append(len(n).to_bytes(length_size, "big"))
        parts.append(n)
    return b"".join(parts)
