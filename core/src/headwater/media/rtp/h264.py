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

from headwater.media.rtp.access_unit import NALDepacketizer
from headwater.media.rtp.limits import MTU_PAYLOAD

STAP_A = 24
STAP_B = 25
MTAP16 = 26
MTAP24 = 27
FU_A = 28
FU_B = 29


class H264Depacketizer(NALDepacketizer):
    """RTP packets of one H.264 stream in sequence order → access units."""

    FU_MASK, FU_VALUE, FU_HEADER_AT = 0x1F, FU_A, 1

    def _payload(self, payload: bytes | memoryview) -> None:
        kind = payload[0] & 0x1F
        if 1 <= kind <= 23:
            self._add(bytes(payload))
        elif kind == STAP_A:
            self._aggregate(payload, 1, 1)
        elif kind == FU_A and len(payload) >= 3:
            header = payload[1]
            rebuilt = bytes(((payload[0] & 0xE0) | (header & 0x1F),))
            self._fragment_part(bool(header & 0x80), bool(header & 0x40), rebuilt, payload[2:])
        else:
            self.dropped += 1  # STAP-B, MTAP, FU-B (interleaved mode), reserved, too short


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
