"""Annex B byte streams (ITU-T H.264 Annex B): NAL units separated by start codes.

Used for H.264/H.265 in MPEG-TS and in SDP-less raw streams.
"""

from __future__ import annotations

from collections.abc import Iterable

START_CODE = b"\x00\x00\x00\x01"


_ZEROS = b"\x00\x00"
"""The first two bytes of a start code prefix (``00 00 01``; a four-byte one ends in it)."""


def split_annexb(data: bytes, start: int = 0, end: int | None = None) -> list[bytes]:
    """Split an Annex B buffer into NAL units (start codes and trailing zeros removed).

    Leading bytes before the first start code are ignored; both 3- and 4-byte start codes
    are accepted. The start codes are found by :func:`annexb_bounds` (``bytes.find`` in C,
    never per byte in Python). ``start`` and ``end`` split ``data[start:end]``
    without copying it first (a PES payload in its PES).
    """
    bounds = annexb_bounds(data, start, end)
    return [data[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2)]


def annexb_bounds(data: bytes | bytearray, start: int = 0, end: int | None = None) -> list[int]:
    """Where :func:`split_annexb` would cut ``data[start:end]``, without cutting: a flat
    list ``[begin0, end0, begin1, end1, ...]`` of each NAL unit's offsets in ``data``
    (every unit non-empty), so that a caller that needs only the units' types and sizes
    (the TS demuxer, which keeps a received access unit whole until a consumer asks for its
    units) copies nothing. Takes ``bytes`` or a ``bytearray``.

    The start codes are found by ``find`` of two zero bytes, the third byte read in Python:
    inside a NAL unit two zeros are always followed by an emulation prevention byte (H.264
    7.4.1), so the few false hits per access unit cost less than a three-byte search (about
    half the instructions of ``re``'s literal scan, which this replaced).
    """
    bounds: list[int] = []
    n = len(data) if end is None else min(max(end, 0), len(data))
    lo = min(max(start, 0), n)
    begin = -1
    find = data.find
    last = n - 3  # a start code at i needs i + 3 <= n
    i = find(_ZEROS, lo, n)
    while 0 <= i <= last:
        third = data[i + 2]
        if third != 1:
            # 00 00 00: a start code may begin one byte on; 00 00 xx: none within 3 bytes
            i = find(_ZEROS, i + 1 if third == 0 else i + 3, n)
            continue
        if begin >= 0:
            stop = i
            while stop > begin and data[stop - 1] == 0:
                stop -= 1
            if stop > begin:
                bounds += (begin, stop)
        begin = i + 3
        i = find(_ZEROS, begin, n)
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
