"""H.265 over RTP (RFC 7798): depacketizer and packetizer.

Depacketizing accepts single NAL unit packets (4.4.1), aggregation packets (AP, 4.4.2) and
fragmentation units (FU, 4.4.3) without DONL fields (``sprop-max-don-diff`` 0, what every
encoder we know sends); PACI packets are counted and dropped. As for H.264, an access unit
ends at the marker bit or a timestamp change, and a lost fragment drops its NAL unit.
Packetizing sends single NAL units and FUs, the marker on each access unit's last packet.
"""

from __future__ import annotations

from collections.abc import Sequence

from headwater.media.rtp.access_unit import NALDepacketizer
from headwater.media.rtp.limits import MTU_PAYLOAD

AP = 48
FU = 49
PACI = 50


class H265Depacketizer(NALDepacketizer):
    """RTP packets of one H.265 stream in sequence order → access units."""

    FU_MASK, FU_VALUE, FU_HEADER_AT = 0x7E, FU << 1, 2

    def _payload(self, payload: bytes | memoryview) -> None:
        if len(payload) < 2:
            self.dropped += 1
            return
        kind = (payload[0] >> 1) & 0x3F
        if kind < AP:
            self._add(bytes(payload))
        elif kind == AP:
            self._aggregate(payload, 2, 2)
        elif kind == FU and len(payload) >= 4:
            header = payload[2]
            rebuilt = bytes(((payload[0] & 0x81) | ((header & 0x3F) << 1), payload[1]))
            self._fragment_part(bool(header & 0x80), bool(header & 0x40), rebuilt, payload[3:])
        else:
            self.dropped += 1  # PACI, reserved, too short


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
