"""Annex B byte streams (ITU-T H.264 Annex B): NAL units separated by start codes.

Used for H.264/H.265 in MPEG-TS and in SDP-less raw streams.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

START_CODE = b"\x00\x00\x00\x01"


_START = re.compile(b"\x00\x00\x01")
"""The three-byte start code prefix (a four-byte one ends in it)."""


def split_annexb(data: bytes, start: int = 0, end: int | None = None) -> list[bytes]:
    """Split an Annex B buffer into NAL units (start codes and trailing zeros removed).

    Leading bytes before the first start code are ignored; both 3- and 4-byte start codes
    are accepted. The start codes are found by one ``re`` scan (a literal pattern: C,
    about twice the speed of ``bytes.find`` from start code to start code on video
    slices), never per byte in Python. ``start`` and ``end`` split ``data[start:end]``
    without copying it first (a PES payload in its PES).
    """
    nalus: list[bytes] = []
    n = len(data) if end is None else min(max(end, 0), len(data))
    lo = min(max(start, 0), n)
    begin = -1
    for code in _START.finditer(data, lo, n):
        stop = code.start()
        if begin >= 0:
            while stop > begin and data[stop - 1] == 0:
                stop -= 1
            if stop > begin:
                nalus.append(data[begin:stop])
        begin = code.end()
    if begin < 0:
        return [data[lo:n]] if n > lo else []
    stop = n
    while stop > begin and data[stop - 1] == 0:
        stop -= 1
    if stop > begin:
        nalus.append(data[begin:stop])
    return nalus


def join_annexb(nalus: Iterable[bytes]) -> bytes:
    """Join NAL units into an Annex B buffer with 4-byte start codes."""
    return b"".join(START_CODE + bytes(n) for n in nalus)
