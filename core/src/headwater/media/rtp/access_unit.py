"""What the H.264 and H.265 depacketizers share (RFC 6184 5.6-5.8, RFC 7798 4.4): access
units gathered from RTP packets, closed at the marker bit or a timestamp change, NAL units
from aggregation packets, fragments put back together (a gap in the sequence drops the
fragment in progress), Annex B payloads unwrapped, and the limits of :mod:`.limits`.
A codec's depacketizer says how to read one payload (:meth:`NALDepacketizer._payload`)."""

from __future__ import annotations

from headwater.media.annexb import split_annexb
from headwater.media.rtp.limits import MAX_ACCESS_UNIT, MAX_NALUS
from headwater.media.rtp.packet import RTPPacket

AccessUnit = tuple[int, list[bytes]]
"""(RTP timestamp, NAL units) of one access unit."""

ANNEX_B = (b"\x00\x00\x00\x01", b"\x00\x00\x01")


class NALDepacketizer:
    """RTP packets of one NAL-unit video stream in sequence order → access units."""

    def __init__(self) -> None:
        self.dropped = 0
        """Packets or NAL units thrown away (loss inside a fragment, unsupported packet
        types, limits)."""
        self._nalus: list[bytes] = []
        self._size = 0
        self._timestamp: int | None = None
        self._fragment: bytearray | None = None
        self._next_seq: int | None = None

    FU_MASK = 0
    FU_VALUE = -1
    """``payload[0] & FU_MASK == FU_VALUE`` for a fragmentation unit (set by each codec)."""
    FU_HEADER_AT = 1
    """Where the FU header (start and end bits) is; the fragment's data follows it."""

    def push(self, packet: RTPPacket) -> list[AccessUnit]:
        """Take one packet; return the access units it completes."""
        return self.push_fields(packet.sequence, packet.timestamp, packet.marker, packet.payload)

    def push_fields(
        self, sequence: int, timestamp: int, marker: bool, payload: bytes
    ) -> list[AccessUnit]:
        """:meth:`push` from the header fields (the per-packet path: no packet object)."""
        fragment = self._fragment
        if (
            fragment is not None
            and sequence == self._next_seq
            and timestamp == self._timestamp
            and not marker
            and len(payload) > self.FU_HEADER_AT
            and payload[0] & self.FU_MASK == self.FU_VALUE
            and not payload[self.FU_HEADER_AT] & 0xC0
        ):  # the common case: a middle fragment, appended at once
            self._next_seq = (sequence + 1) & 0xFFFF
            fragment += payload[self.FU_HEADER_AT + 1 :]
            if len(fragment) > MAX_ACCESS_UNIT:
                self._fragment = None
                self.dropped += 1
            return []
        out: list[AccessUnit] = []
        if self._timestamp is not None and timestamp != self._timestamp:
            self._fragment = None
            self._close(out)
        if self._next_seq is not None and sequence != self._next_seq:
            self._fragment = None  # a gap: a fragment in progress cannot be completed
        self._next_seq = (sequence + 1) & 0xFFFF
        self._timestamp = timestamp
        if payload.startswith(ANNEX_B):
            for nalu in split_annexb(payload):  # an encoder that sends Annex B
                self._add(nalu)
        elif payload:
            self._payload(payload)
        if marker:
            self._fragment = None
            self._close(out)
        return out

    def flush(self) -> list[AccessUnit]:
        """The access unit in progress, if any (at the end of the stream)."""
        out: list[AccessUnit] = []
        self._close(out)
        return out

    def _payload(self, payload: bytes) -> None:
        """Read one packet's payload (single NAL unit, aggregation or fragment)."""
        raise NotImplementedError

    def _aggregate(self, payload: bytes, pos: int, smallest: int) -> None:
        """The NAL units of an aggregation packet from ``pos``: 16-bit size, then the unit."""
        n = len(payload)
        while pos + 2 <= n:
            size = (payload[pos] << 8) | payload[pos + 1]
            pos += 2
            if size < smallest or pos + size > n:
                self.dropped += 1
                return
            self._add(payload[pos : pos + size])
            pos += size

    def _fragment_part(self, start: bool, end: bool, header: bytes, data: bytes) -> None:
        """One fragment: ``header`` (the rebuilt NAL header) opens a unit when ``start``."""
        if start:
            self._fragment = bytearray(header)
        elif self._fragment is None:
            self.dropped += 1  # the start was lost
            return
        fragment = self._fragment
        fragment += data
        if len(fragment) > MAX_ACCESS_UNIT:
            self._fragment = None
            self.dropped += 1
            return
        if end:
            self._fragment = None
            self._add(bytes(fragment))

    def _add(self, nalu: bytes) -> None:
        if len(self._nalus) >= MAX_NALUS or self._size + len(nalu) > MAX_ACCESS_UNIT:
            self.dropped += 1
            return
        self._nalus.append(nalu)
        self._size += len(nalu)

    def _close(self, out: list[AccessUnit]) -> None:
        if self._nalus and self._timestamp is not None:
            out.append((self._timestamp, self._nalus))
        self._nalus = []
        self._size = 0
