"""Program-specific information (ISO/IEC 13818-1 2.4.4): PAT, PMT and section reassembly.

The Program Association Table (table_id 0, on PID 0) maps program numbers to PMT PIDs;
the Program Map Table (table_id 2) lists a program's elementary streams with their
stream_type and descriptors. Sections carry a CRC-32/MPEG-2 (Annex A) and may span
packets; a packet with payload_unit_start_indicator begins with a pointer_field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from headwater.errors import MediaError
from headwater.media.mpegts.crc32 import crc32_mpeg2
from headwater.media.mpegts.packet import PACKET_SIZE, header

TABLE_PAT = 0x00
TABLE_PMT = 0x02
MAX_SECTION = 4096
"""Longest private section (12-bit section_length plus 3); PAT/PMT are limited to 1024."""


class PSIError(MediaError):
    """A PSI section is malformed (bad length, bad CRC, wrong table)."""


@dataclass(frozen=True, slots=True)
class PAT:
    """A Program Association Table: program_number → PMT PID (program 0 is the NIT)."""

    transport_stream_id: int
    version: int
    programs: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class ElementaryStream:
    """One entry of a PMT's elementary stream loop (2.4.4.9)."""

    stream_type: int
    pid: int
    descriptors: bytes = b""


@dataclass(frozen=True, slots=True)
class PMT:
    """A Program Map Table."""

    program_number: int
    version: int
    pcr_pid: int
    streams: tuple[ElementaryStream, ...]
    descriptors: bytes = b""


def _check_section(section: bytes, table_id: int) -> None:
    if len(section) < 12:
        raise PSIError(f"section of {len(section)} bytes is too short")
    if section[0] != table_id:
        raise PSIError(f"table_id {section[0]:#x}, expected {table_id:#x}")
    length = ((section[1] & 0x0F) << 8) | section[2]
    if length + 3 != len(section):
        raise PSIError(f"section_length {length} does not match {len(section)} bytes")
    if crc32_mpeg2(section):
        raise PSIError(f"CRC-32 mismatch in table {table_id:#x}")


def parse_pat(section: bytes) -> PAT:
    """Parse a complete PAT section (CRC checked)."""
    _check_section(section, TABLE_PAT)
    tsid = int.from_bytes(section[3:5], "big")
    version = (section[5] >> 1) & 0x1F
    body = section[8:-4]
    if len(body) % 4:
        raise PSIError("PAT program loop is not a multiple of 4 bytes")
    programs = tuple(
        (
            int.from_bytes(body[i : i + 2], "big"),
            int.from_bytes(body[i + 2 : i + 4], "big") & 0x1FFF,
        )
        for i in range(0, len(body), 4)
    )
    return PAT(tsid, version, programs)


def parse_pmt(section: bytes) -> PMT:
    """Parse a complete PMT section (CRC checked)."""
    _check_section(section, TABLE_PMT)
    program = int.from_bytes(section[3:5], "big")
    version = (section[5] >> 1) & 0x1F
    pcr_pid = int.from_bytes(section[8:10], "big") & 0x1FFF
    info_len = int.from_bytes(section[10:12], "big") & 0x0FFF
    end = len(section) - 4
    pos = 12 + info_len
    if pos > end:
        raise PSIError("PMT program_info_length runs past the section")
    descriptors = section[12:pos]
    streams = []
    while pos + 5 <= end:
        stream_type = section[pos]
        pid = int.from_bytes(section[pos + 1 : pos + 3], "big") & 0x1FFF
        es_len = int.from_bytes(section[pos + 3 : pos + 5], "big") & 0x0FFF
        if pos + 5 + es_len > end:
            raise PSIError(f"ES_info_length of PID {pid} runs past the section")
        streams.append(ElementaryStream(stream_type, pid, section[pos + 5 : pos + 5 + es_len]))
        pos += 5 + es_len
    if pos != end:
        raise PSIError("stray bytes at the end of the PMT stream loop")
    return PMT(program, version, pcr_pid, tuple(streams), descriptors)


def iter_descriptors(data: bytes) -> Iterable[tuple[int, bytes]]:
    """Yield (tag, body) of each descriptor (2.6); a truncated one ends the walk."""
    pos = 0
    n = len(data)
    while pos + 2 <= n:
        tag, length = data[pos], data[pos + 1]
        if pos + 2 + length > n:
            return
        yield tag, data[pos + 2 : pos + 2 + length]
        pos += 2 + length


def _section(table_id: int, extension: int, version: int, body: bytes) -> bytes:
    length = 5 + len(body) + 4
    head = bytes(
        (
            table_id,
            0xB0 | (length >> 8),
            length & 0xFF,
            extension >> 8,
            extension & 0xFF,
            0xC1 | ((version & 0x1F) << 1),
            0,
            0,
        )
    )
    section = head + body
    return section + crc32_mpeg2(section).to_bytes(4, "big")


def build_pat(
    programs: Iterable[tuple[int, int]], transport_stream_id: int = 1, version: int = 0
) -> bytes:
    """Build a PAT section from (program_number, PMT PID) pairs."""
    body = b"".join(p.to_bytes(2, "big") + (0xE000 | pid).to_bytes(2, "big") for p, pid in programs)
    return _section(TABLE_PAT, transport_stream_id, version, body)


def build_pmt(pmt: PMT) -> bytes:
    """Build a PMT section."""
    parts = [
        (0xE000 | pmt.pcr_pid).to_bytes(2, "big"),
        (0xF000 | len(pmt.descriptors)).to_bytes(2, "big"),
        pmt.descriptors,
    ]
    for es in pmt.streams:
        parts.append(bytes((es.stream_type,)))
        parts.append((0xE000 | es.pid).to_bytes(2, "big"))
        parts.append((0xF000 | len(es.descriptors)).to_bytes(2, "big"))
        parts.append(es.descriptors)
    return _section(TABLE_PMT, pmt.program_number, pmt.version, b"".join(parts))


def section_packets(pid: int, section: bytes, cc: int) -> tuple[bytes, int]:
    """Packetize one section (pointer_field 0, 0xFF stuffing); returns packets and next CC."""
    data = b"\x00" + section
    out = []
    for i in range(0, len(data), PACKET_SIZE - 4):
        chunk = data[i : i + PACKET_SIZE - 4]
        out.append(header(pid, cc, pusi=i == 0) + chunk + b"\xff" * (PACKET_SIZE - 4 - len(chunk)))
        cc = (cc + 1) & 0xF
    return b"".join(out), cc


class SectionAssembler:
    """Reassembles PSI sections of one PID from packet payloads (2.4.4.1 pointer_field).

    ``push(payload, start)`` returns the complete sections that payload finishes. A gap
    (``reset()``) drops the section in progress; stuffing (0xFF) ends a payload's sections.
    Buffers are bounded by :data:`MAX_SECTION`.
    """

    __slots__ = ("_buf", "_need")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need = 0

    @property
    def idle(self) -> bool:
        """True when no section is in progress (what a payload start yields then depends on
        its payload alone)."""
        return not self._need and not self._buf

    def reset(self) -> None:
        """Forget a partial section (after a continuity error)."""
        self._buf.clear()
        self._need = 0

    def push(self, payload: bytes | memoryview, start: bool) -> list[bytes]:
        """Feed one packet payload; ``start`` is its payload_unit_start_indicator."""
        out: list[bytes] = []
        if start:
            if not payload:
                return out
            pointer = payload[0]
            if 1 + pointer > len(payload):
                self.reset()
                return out
            if self._need:
                self._take(payload[1 : 1 + pointer], out, scan_rest=False)
            self.reset()
            self._scan(payload[1 + pointer :], out)
        elif self._need:
            self._take(payload, out, scan_rest=True)
        return out

    def _take(self, data: bytes | memoryview, out: list[bytes], scan_rest: bool) -> None:
        """Continue the section in progress (``_need`` -1: its 3-byte header is incomplete)."""
        self._buf += data
        if self._need < 0:
            if len(self._buf) < 3:
                return
            self._need = (((self._buf[1] & 0x0F) << 8) | self._buf[2]) + 3
        if len(self._buf) >= self._need:
            section = bytes(self._buf[: self._need])
            rest = bytes(self._buf[self._need :])
            self.reset()
            out.append(section)
            if scan_rest:
                self._scan(rest, out)

    def _scan(self, data: bytes | memoryview, out: list[bytes]) -> None:
        """Read sections starting at the beginning of ``data`` until stuffing or its end."""
        pos = 0
        n = len(data)
        while pos < n and data[pos] != 0xFF:
            if pos + 3 > n:
                self._buf += data[pos:]
                self._need = -1
                return
            total = (((data[pos + 1] & 0x0F) << 8) | data[pos + 2]) + 3
            if pos + total <= n:
                out.append(bytes(data[pos : pos + total]))
                pos += total
                continue
            self._buf += data[pos:]
            self._need = total
            return
