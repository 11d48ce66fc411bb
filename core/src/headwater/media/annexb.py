"""Annex B byte streams (ITU-T H.264 Annex B): NAL units separated by start codes.

Used for H.264/H.265 in MPEG-TS and in SDP-less raw streams.
"""

from __future__ import annotations

from collections.abc import Iterable

START_CODE = b"\x00\x00\x00\x01"


def split_annexb(data: bytes, start: int = 0, end: int | None = None) -> list[bytes]:
    """Split an Annex B buffer into NAL units (start codes and trailing zeros removed).

    Leading bytes before the first start code are ignored; both 3- and 4-byte start codes
    are accepted. Work is done with ``bytes.find``, never per byte in Python. ``start`` and
    ``end`` split ``data[start:end]`` without copying it first (a PES payload in its PES).
    """
    nalus: list[bytes] = []
    find = data.find
    n = len(data) if end is None else min(max(end, 0), len(data))
    lo = min(max(start, 0), n)
    pos = find(b"\x00\x00\x01", lo, n)
    if pos < 0:
        return [data[lo:n]] if n > lo else []
    start = pos + 3
    while True:
        nxt = find(b"\x00\x00\x01", start, n)
        if nxt < 0:
            end = n
            while end > start and data[end - 1] == 0:
                end -= 1
            if end > start:
                nalus.append(data[start:end])
            return nalus
        end = nxt
        while end > start and data[end - 1] == 0:
            end -= 1
        if end > start:
            nalus.append(data[start:end])
        start = nxt + 3


def join_annexb(nalus: Iterable[bytes]) -> bytes:
    """Join NAL units into an Annex B buffer with 4-byte start codes."""
    return b"".join(START_CODE + bytes(n) for n in nalus)
