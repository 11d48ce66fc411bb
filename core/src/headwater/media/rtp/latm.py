"""AAC over RTP as ``MP4A-LATM`` (RFC 6416 section 6, LATM of ISO/IEC 14496-3 1.7.3) with
the configuration out of band (``cpresent=0``, ``config=`` the StreamMuxConfig in hex): one
program, one layer, one AU per packet or one AU fragmented over packets up to the marker."""

from __future__ import annotations

from headwater.media.aac import AACError, AudioSpecificConfig
from headwater.media.rtp.depacketizer import AudioFrame, Depacketizer
from headwater.media.rtp.limits import MAX_ACCESS_UNIT
from headwater.media.rtp.packet import RTPError


def latm_audio_config(stream_mux_config: bytes) -> bytes:
    """The AudioSpecificConfig inside a StreamMuxConfig (audioMuxVersion 0, 1 program/layer).

    The config starts at bit 15: audioMuxVersion (1), allStreamsSameTimeFraming (1),
    numSubFrames (6), numProgram (4), numLayer (3). Returned as 2 bytes (plain configs).
    """
    if len(stream_mux_config) < 4:
        raise RTPError("MP4A-LATM config shorter than 4 bytes")
    bits = int.from_bytes(stream_mux_config, "big")
    total = len(stream_mux_config) * 8
    if bits >> (total - 1):
        raise RTPError("MP4A-LATM audioMuxVersion 1 is not supported")
    if (bits >> (total - 15)) & 0x7F:
        raise RTPError("MP4A-LATM with several programs or layers is not supported")
    shifted = (bits << 15) & ((1 << total) - 1)
    config = shifted.to_bytes(len(stream_mux_config), "big")
    try:
        asc = AudioSpecificConfig.parse(config)
    except AACError as exc:
        raise RTPError(f"MP4A-LATM config: {exc}") from None
    return asc.to_bytes()


class LATMDepacketizer(Depacketizer[AudioFrame]):
    """RTP packets of one ``MP4A-LATM`` stream (cpresent=0) in sequence order → raw frames."""

    def __init__(self) -> None:
        self.dropped = 0
        self._buf = bytearray()
        self._ts: int | None = None
        self._next_seq: int | None = None

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
        if self._next_seq is not None and sequence != self._next_seq:
            self._buf.clear()
        self._next_seq = (sequence + 1) & 0xFFFF
        if self._ts is not None and timestamp != self._ts and self._buf:
            self._buf.clear()
            self.dropped += 1
        self._ts = timestamp
        self._buf += payload
        if len(self._buf) > MAX_ACCESS_UNIT:
            self._buf.clear()
            self.dropped += 1
            return []
        if not marker:
            return []
        data = bytes(self._buf)
        self._buf.clear()
        size, pos = 0, 0
        while pos < len(data):  # PayloadLengthInfo: 0xFF bytes add up, the last ends it
            byte = data[pos]
            pos += 1
            size += byte
            if byte != 0xFF:
                break
        if pos + size > len(data) or size == 0:
            self.dropped += 1
            return []
        return [(timestamp, data[pos : pos + size])]

    def flush(self) -> list[AudioFrame]:
        """An incomplete frame is lost."""
        self._buf.clear()
        return []
