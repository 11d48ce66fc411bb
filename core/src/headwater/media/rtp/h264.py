"""H.264 over RTP (RFC 6184): depacketizer and packetizer.

Depacketizing accepts single NAL unit packets (5.6), STAP-A (5.7.1) and FU-A (5.8) whatever
``packetization-mode`` the SDP declared (cameras that declare mode 0 and send FU-A are
common); STAP-B, MTAPs and FU-B (interleaved mode) are counted and dropped. An access unit
ends at the marker bit or at a timestamp change (senders that never set the marker), a lost
fragment drops the NAL unit it belonged to, and a NAL unit wrapped in an Annex B start code
is unwrapped. Packetizing sends single NAL units and FU-A fragments, the marker on the last
packet of each access unit (mode 1 in the SDP).
"""

from __future__ import annotations

from collections.abc import Sequence

from headwater.media.annexb import split_annexb
from headwater.media.rtp.limits import MAX_ACCESS_UNIT, MAX_NALUS, MTU_PAYLOAD
from headwater.media.rtp.packet import RTPPacket

STAP_A = 24
STAP_B = 25
MTAP16 = 26
MTAP24 = 27
FU_A = 28
FU_B = 29

AccessUnit = tuple[int, list[bytes]]
"""(RTP timestamp, NAL units) of one access unit."""


class H264Depacketizer:
    """RTP packets of one H.264 stream in sequence order → access units."""

    def __init__(self) -> None:
        self.dropped = 0
        """Packets or NAL units thrown away (loss inside a fragment, unsupported types,
        limits)."""
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
            self._fragment = None  # a gap: a fragment in progress cannot be completed
        self._next_seq = (packet.sequence + 1) & 0xFFFF
        self._timestamp = packet.timestamp
        payload = packet.payload
        if payload:
            self._payload(payload)
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
        kind = payload[0] & 0x1F
        if 1 <= kind <= 23:
            self._add(payload)
        elif kind == STAP_A:
            pos, n = 1, len(payload)
            while pos + 2 <= n:
                size = (payload[pos] << 8) | payload[pos + 1]
                pos += 2
                if size == 0 or pos + size > n:
                    self.dropped += 1
                    return
                self._add(payload[pos : pos + size])
                pos += size
        elif kind == FU_A:
            if len(payload) < 3:
                self.dropped += 1
                return
            header = payload[1]
            start, end = header & 0x80, header & 0x40
            if start:
                self._fragment = bytearray(((payload[0] & 0xE0) | (header & 0x1F),))
            elif self._fragment is None:
                self.dropped += 1  # the start was lost
                return
            fragment = self._fragment
            fragment += payload[2:]
            if len(fragment) > MAX_ACCESS_UNIT:
                self._fragment = None
                self.dropped += 1
                return
            if end:
                self._fragment = None
                self._add(bytes(fragment))
        else:
            self.dropped += 1  # STAP-B, MTAP, FU-B (interleaved mode) or reserved

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


def packetize_h264(nalus: Sequence[bytes], mtu: int = MTU_PAYLOAD) -> list[tuple[bytes, bool]]:
    """RTP payloads and marker bits for one access unit (single NAL units and FU-A)."""
    out: list[tuple[bytes, bool]] = []
    for nalu in nalus:
        if not nalu:
            continue
        if len(nalu) <= mtu:
            out.append((bytes(nalu), False))
            continue
        indicator = bytes(((nalu[0] & 0xE0) | FU_A,))
        kind = nalu[0] & 0x1F
        chunk = mtu - 2
        pos, n = 1, len(nalu)
        while pos < n:
            end = min(pos + chunk, n)
            header = kind | (0x80 if pos == 1 else 0) | (0x40 if end == n else 0)
            out.append((indicator + bytes((header,)) + nalu[pos:end], False))
            pos = end
    if out:
        out[-1] = (out[-1][0], True)
    return out
