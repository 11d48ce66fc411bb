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
    slices, though callgrind counts 5 instructions a byte for it against 3 for ``find``;
    numpy's byte compares and ``flatnonzero`` were slower too), never per byte in Python.
    ``start`` and ``end`` split ``data[start:end]`` without copying it first (a PES
    payload in its PES).
    """
    bounds = annexb_bounds(data, start, end)
    return [data[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2)]


def annexb_bounds(data: bytes | bytearray, start: int = 0, end: int | None = None) -> list[int]:
    """Where :func:`split_annexb` would cut ``data[start:end]``, without cutting: a flat
    list ``[begin0, end0, begin1, end1, ...]`` of each NAL unit's offsets in ``data``
    (every unit non-empty), so that a caller that needs only the units' types and sizes
    (the TS demuxer, which keeps a received access unit whole until a consumer asks for its
    units) copies nothing. Takes ``bytes`` or a ``bytearray``."""
    bounds: list[int] = []
    n = len(data) if end is None else min(max(end, 0), len(data))
    lo = min(max(start, 0), n)
    begin = -1
    for code in _START.finditer(data, lo, n):
        stop = code.start()
        if begin >= 0:
            while stop > begin and data[stop - 1] == 0:
                stop -= 1
            if stop > begin:
                bounds += (begin, stop)
        begin = code.end()
    if begin < 0:
        return [lo, n] if n > lo else []
    stop = n
    while stop > begin and data[stop - 1] == 0:
        stop -= 1
    if stop > begin:
        bounds += (begin, stop)
    return bounds


def cut_units(buffer: bytes | bytearray, bounds: list[int]) -> tuple[bytes, ...]:
    """The NAL units at ``bounds`` (flat begin/end pairs, see :func:`annexb_bounds`) in
    ``buffer``, each as ``bytes``."""
    if type(buffer) is bytes:
        return tuple(buffer[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2))
    view = memoryview(buffer)
    return tuple(bytes(view[bounds[i] : bounds[i + 1]]) for i in range(0, len(bounds), 2))


def join_annexb(nalus: Iterable[bytes]) -> bytes:
    """Join NAL units into an Annex B buffer with 4-byte start codes."""
    return b"".join(START_CODE + bytes(n) for n in nalus)
