"""H.265 over RTP (RFC 7798): depacketizer and packetizer.

Depacketizing accepts single NAL unit packets (4.4.1), aggregation packets (AP, 4.4.2) and
fragmentation units (FU, 4.4.3) without DONL fields (``sprop-max-don-diff`` 0, what every
encoder we know sends); PACI packets are counted and dropped. As for H.264, an access unit
ends at the marker bit or a timestamp change, and a lost fragment drops its NAL unit.
Packetizing sends single NAL units and FUs, the marker on each access unit's last packet.
"""

from __future__ import annotations

from collections.abc import Sequence

from headwater.media.annexb import split_annexb
from headwater.media.rtp.limits import MAX_ACCESS_UNIT, MAX_NALUS, MTU_PAYLOAD
from headwater.media.rtp.packet import RTPPacket

AP = 48
FU = 49
PACI = 50

AccessUnit = tuple[int, list[bytes]]
"""(RTP timestamp, NAL units) of one access unit."""


class H265Depacketizer:
    """RTP packets of one H.265 stream in sequence order → access units."""

    def __init__(self) -> None:
        self.dropped = 0
        """Packets or NAL units thrown away (loss inside a fragment, PACI, limits)."""
        self._nalus: list[bytes] = []
        self._size = 0
        self._timestamp: int | None = None
        self._fragment: bytearray | None = None
        self._next_seq: int | None = None

    def push(self, packet: RTPPacket) -> list[AccessUnit]:
        """Take one packet; return the access units it completes."""
        out: list[AccessUnit] = []
        if self._timestamp is not None and packet.timestamp != self._timestamp:
            self._fragment = None
            self._close(out)
        if self._next_seq is not None and packet.sequence != self._next_seq:
            self._fragment = None
        self._next_seq = (packet.sequence + 1) & 0xFFFF
        self._timestamp = packet.timestamp
        if len(packet.payload) >= 2:
            self._payload(packet.payload)
        elif packet.payload:
            self.dropped += 1
        if packet.marker:
            self._fragment = None
            self._close(out)
        return out

    def flush(self) -> list[AccessUnit]:
        """The access unit in progress, if any (at the end of the stream)."""
        out: list[AccessUnit] = []
        self._close(out)
        return out

    def _payload(self, payload: bytes) -> None:
        if payload.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01")):
            for nalu in split_annexb(payload):  # an encoder that sends Annex B
                self._add(nalu)
            return
        kind = (payload[0] >> 1) & 0x3F
        if kind < AP:
            self._add(payload)
        elif kind == AP:
            pos, n = 2, len(payload)
            while pos + 2 <= n:
                size = (payload[pos] << 8) | payload[pos + 1]
                pos += 2
                if size < 2 or pos + size > n:
                    self.dropped += 1
                    return
                self._add(payload[pos : pos + size])
                pos += size
        elif kind == FU:
            if len(payload) < 4:
                self.dropped += 1
                return
            header = payload[2]
            start, end = header & 0x80, header & 0x40
            if start:
                nal_type = header & 0x3F
                self._fragment = bytearray(((payload[0] & 0x81) | (nal_type << 1), payload[1]))
            elif self._fragment is None:
                self.dropped += 1
                return
            fragment = self._fragment
            fragment += payload[3:]
            if len(fragment) > MAX_ACCESS_UNIT:
                self._fragment = None
                self.dropped += 1
                return
            if end:
                self._fragment = None
                self._add(bytes(fragment))
        else:
            self.dropped += 1  # PACI or reserved

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


def packetize_h265(nalus: Sequence[bytes], mtu: int = MTU_PAYLOAD) -> list[tuple[bytes, bool]]:
    """RTP payloads and marker bits for one access unit (single NAL units and FUs)."""
    out: list[tuple[bytes, bool]] = []
    for nalu in nalus:
        if len(nalu) < 2:
            continue
        if len(nalu) <= mtu:
            out.append((bytes(nalu), False))
            continue
        kind = (nalu[0] >> 1) & 0x3F
        header = bytes(((nalu[0] & 0x81) | (FU << 1), nalu[1]))
        chunk = mtu - 3
        pos, n = 2, len(nalu)
        while pos < n:
            end = min(pos + chunk, n)
            fu = kind | (0x80 if pos == 2 else 0) | (0x40 if end == n else 0)
            out.append((header + bytes((fu,)) + nalu[pos:end], False))
            pos = end
    if out:
        out[-1] = (out[-1][0], True)
    return out
