"""Annex B byte streams (ITU-T H.264 Annex B): NAL units separated by start codes.

Used for H.264/H.265 in MPEG-TS and in SDP-less raw streams.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from headwater.media import h264, h265

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


def access_unit_bounds(data: bytes | bytearray, start: int, end: int, hevc: bool) -> list[int]:
    """:func:`annexb_bounds` of an H.264 (``hevc`` False) or H.265 access unit in
    ``data[start:end]`` without its access unit delimiters (the form a headwater frame
    holds its units in: the TS writer puts its own AUD first)."""
    bounds = annexb_bounds(data, start, end)
    types = unit_types(data, bounds, hevc)
    aud = h265.NAL_AUD if hevc else h264.NAL_AUD
    if aud in types:  # most access units have one AUD, first (ffmpeg's muxer puts it there)
        if types[0] == aud and types.count(aud) == 1:
            del bounds[:2]
        else:
            bounds = [x for i, t in enumerate(types) if t != aud for x in bounds[2 * i : 2 * i + 2]]
    return bounds


def unit_types(data: bytes | bytearray, bounds: list[int], hevc: bool) -> list[int]:
    """The NAL unit type of each unit at ``bounds`` (flat begin/end pairs, see
    :func:`annexb_bounds`) in ``data``: H.264 (``hevc`` False) or H.265 headers."""
    if hevc:
        return [(data[b] >> 1) & 0x3F for b in bounds[::2]]
    return [data[b] & 0x1F for b in bounds[::2]]


_ZEROS = re.compile(b"\x00*")
_H264_AUD_CODE = b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01"
_H265_AUD_CODE = b"\x00\x00\x00\x01\x46\x01\x50\x00\x00\x00\x01"
"""A 4-byte start code, the access unit delimiter ffmpeg and x264/x265 write (any slice
types), and the next 4-byte start code: the first bytes of most received access units."""


def access_unit_key(data: bytes | bytearray, start: int, end: int, hevc: bool) -> bool | None:
    """Whether the H.264 (``hevc`` False) or H.265 access unit in ``data[start:end]`` is a
    keyframe, read from its first VCL NAL unit alone: an IDR picture (H.264 7.4.1.2.4: every
    slice of an IDR picture is an IDR slice) or an IRAP picture (H.265 7.4.2.4.4: every VCL
    unit of a picture has the same type). Only the units up to that one are looked at,
    usually an AUD and the slice, so a frame's bytes are not scanned on arrival.

    False also when the units hold no VCL unit at all; None when ``data[start:end]`` has no
    start code (then :func:`annexb_bounds` takes it whole as one unit: the caller decides
    from those bounds). Empty units (a start code right after another, zeros before the
    next) are skipped as :func:`annexb_bounds` skips them.
    """
    end = min(end, len(data))
    # the usual access unit (ffmpeg's, x264's): a 4-byte start code, the AUD, a 4-byte start
    # code, then the first slice: read in place, what the scan below finds for it
    if hevc:
        if data.startswith(_H265_AUD_CODE, start) and start + 11 < end:
            b = data[start + 11]
            t = (b >> 1) & 0x3F
            if b and t < 32:
                return 16 <= t <= 21
    elif data.startswith(_H264_AUD_CODE, start) and start + 10 < end:
        t = data[start + 10] & 0x1F
        if 1 <= t <= 5:
            return t == h264.NAL_IDR
    search = _START.search
    pos = start
    while True:
        code = search(data, pos, end)
        if code is None:
            return None if pos == start else False
        pos = code.end()
        if pos >= end:
            return False
        b = data[pos]
        if b == 0:  # an empty unit (zeros, then a start code or the end) or a type 0 unit
            z = _ZEROS.match(data, pos, end).end()  # type: ignore[union-attr]
            if z == end:
                return False
            if z - pos >= 2 and data[z] == 1:
                pos = z - 2
                continue
        if hevc:
            t = (b >> 1) & 0x3F
            if t < 32:  # VCL (H.265 table 7-1); IRAP are 16 to 23, of which 22-23 reserved
                return 16 <= t <= 21
        else:
            t = b & 0x1F
            if 1 <= t <= 5:  # the coded slices of a primary or redundant picture
                return t == h264.NAL_IDR


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
