"""Audio codecs that put one whole frame in each RTP packet: Opus (RFC 7587 section 4) and
G.711 A-law/µ-law (RFC 3551 section 4.5.14, static payload types 8 and 0)."""

from __future__ import annotations

from headwater.media.rtp.depacketizer import AudioFrame, Depacketizer
from headwater.media.rtp.limits import MAX_ACCESS_UNIT


class FrameDepacketizer(Depacketizer[AudioFrame]):
    """RTP packets → frames, one per packet (empty payloads and oversized ones dropped)."""

    def __init__(self) -> None:
        self.dropped = 0

    def push_fields(
        self,
        sequence: int,
        timestamp: int,
        marker: bool,
        payload: bytes | memoryview,
        start: int = 0,
    ) -> list[AudioFrame]:
        """:meth:`push` from the header fields; the payload is ``payload[start:]``."""
        if start:
            payload = payload[start:]
        if not payload or len(payload) > MAX_ACCESS_UNIT:
            self.dropped += 1
            return []
        return [(timestamp, bytes(payload))]

    def flush(self) -> list[AudioFrame]:
        """Nothing is held between packets."""
        return []


def packetize_frame(frame: bytes) -> list[tuple[bytes, bool]]:
    """One packet, marker set, for one frame."""
    return [(bytes(frame), True)]


def opus_head(channels: int, sample_rate: int = 48000, pre_skip: int = 312) -> bytes:
    """An OpusHead (RFC 7845 5.1) for an Opus track learnt from SDP (channel mapping 0)."""
    return (
        b"OpusHead"
        + bytes((1, channels))
        + pre_skip.to_bytes(2, "little")
        + sample_rate.to_bytes(4, "little")
        + b"\x00\x00\x00"
    )
