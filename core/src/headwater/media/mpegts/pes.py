"""PES packets (ISO/IEC 13818-1 2.4.3.6-2.4.3.7): header, PTS/DTS and the 33-bit clock.

A PES packet starts with ``00 00 01``, a stream_id and a 16-bit PES_packet_length (0 means
"until the next payload unit start", which video uses). Most stream ids carry an optional
header with the 33-bit 90 kHz presentation and decoding timestamps.
"""

from __future__ import annotations

from typing import NamedTuple

from headwater.errors import MediaError

TIMESTAMP_WRAP = 1 << 33

STREAM_ID_VIDEO = 0xE0
STREAM_ID_AUDIO = 0xC0
STREAM_ID_PRIVATE_1 = 0xBD
STREAM_ID_METADATA = 0xFC


NO_HEADER_IDS = frozenset({0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF})
"""Stream ids whose PES have no optional header (2.4.3.7, Table 2-22)."""


class PESError(MediaError):
    """A PES packet is malformed or shorter than its PES_packet_length."""


class PESHeader(NamedTuple):
    """A parsed PES header; ``payload`` is the (start, end) of the elementary stream bytes."""

    stream_id: int
    pts: int | None
    dts: int | None
    start: int
    end: int


def _timestamp(data: bytes, pos: int) -> int:
    v = int.from_bytes(data[pos : pos + 5], "big")
    return (((v >> 33) & 7) << 30) | (((v >> 17) & 0x7FFF) << 15) | ((v >> 1) & 0x7FFF)


def parse_pes_header(data: bytes) -> PESHeader:
    """Parse the PES header at the start of ``data`` (a whole PES packet)."""
    n = len(data)
    if n < 6 or data[0] or data[1] or data[2] != 1:
        raise PESError("PES packet does not start with 00 00 01")
    stream_id = data[3]
    length = (data[4] << 8) | data[5]
    end = 6 + length if length else n
    if end > n:
        raise PESError(f"PES packet of {n} bytes is shorter than its length {end}")
    if stream_id in NO_HEADER_IDS:
        return PESHeader(stream_id, None, None, 6, end)
    if n < 9 or data[6] & 0xC0 != 0x80:
        raise PESError("PES optional header missing or without its '10' marker")
    flags = data[7] >> 6
    start = 9 + data[8]
    if start > end:
        raise PESError("PES_header_data_length runs past the packet")
    pts = dts = None
    if flags & 2:
        if start < 14:
            raise PESError("PTS flag set but the PES header is too short")
        pts = _timestamp(data, 9)
        dts = pts
        if flags == 3:
            if start < 19:
                raise PESError("DTS flag set but the PES header is too short")
            dts = _timestamp(data, 14)
    return PESHeader(stream_id, pts, dts, start, end)


def build_pes_header(
    stream_id: int, pts: int, dts: int | None, payload_size: int, *, sized: bool
) -> bytes:
    """Build a PES header with PTS (and DTS when it differs) for ``payload_size`` ES bytes.

    ``sized`` False writes PES_packet_length 0 (allowed for video, 2.4.3.7); a payload too
    big for the 16-bit field also gets 0. (The header is assembled as one integer: the
    writer calls this for every frame.)
    """
    # '0010' (PTS only) or '0011' (PTS, DTS follows), the 33 bits in 3 + 15 + 15, markers
    only = dts is None or dts == pts
    pts %= TIMESTAMP_WRAP
    p5 = ((pts >> 30) << 33) | (((pts >> 15) & 0x7FFF) << 17) | ((pts & 0x7FFF) << 1) | _MARKERS
    if only:
        length = 8 + payload_size
        if not sized or length > 0xFFFF:
            length = 0
        value = _PTS_ONLY | (stream_id << 80) | (length << 64) | _PTS_MARK | p5
        return value.to_bytes(14, "big")
    dts %= TIMESTAMP_WRAP
    d5 = ((dts >> 30) << 33) | (((dts >> 15) & 0x7FFF) << 17) | ((dts & 0x7FFF) << 1) | _MARKERS
    length = 13 + payload_size
    if not sized or length > 0xFFFF:
        length = 0
    value = _PTS_DTS | (stream_id << 120) | (length << 104) | ((_PTS_DTS_MARK | p5) << 40)
    return (value | _DTS_MARK | d5).to_bytes(19, "big")


_MARKERS = 0x100010001
"""The three marker bits of a 5-byte timestamp field."""
_PTS_MARK = 0b0010 << 36
_PTS_DTS_MARK = 0b0011 << 36
_DTS_MARK = 0b0001 << 36
_PTS_ONLY = (0x000001 << 88) | (0x808005 << 40)
"""Start code prefix; '10' marker, PTS flag, header data length 5."""
_PTS_DTS = (0x000001 << 128) | (0x80C00A << 80)
"""Start code prefix; '10' marker, PTS and DTS flags, header data length 10."""


class Unwrapper:
    """Maps 33-bit timestamps onto one continuous 90 kHz time line (wraps every 26.5 h).

    Each value is placed at the point closest to the previous one, so timestamps of all
    tracks of a program (which differ by far less than 2**32 ticks) share one line.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: int | None = None

    def __call__(self, ts: int) -> int:
        last = self._last
        if last is None:
            self._last = ts
            return ts
        diff = (ts - last) % TIMESTAMP_WRAP
        if diff >= TIMESTAMP_WRAP >> 1:
            diff -= TIMESTAMP_WRAP
        self._last = value = last + diff
        return value
