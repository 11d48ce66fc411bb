"""What every RTP depacketizer shares: packets in, the frames or access units they complete
out, from a whole :class:`RTPPacket` or from header fields already read (the per-packet
path of the RTSP connection, which reads the header once and passes the payload's offset).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from headwater.media.rtp.packet import RTPPacket

Output = TypeVar("Output")

AudioFrame = tuple[int, bytes]
"""(RTP timestamp, raw frame): what the audio depacketizers return."""


class Depacketizer(Generic[Output]):
    """Base of the depacketizers: each codec implements :meth:`push_fields` and
    :meth:`flush`; :meth:`push` is the same for all of them."""

    dropped: int
    """Packets or frames thrown away (a gap, an oversized unit, a malformed payload)."""

    def push(self, packet: RTPPacket) -> list[Output]:
        """Take one packet; return what it completes."""
        return self.push_fields(packet.sequence, packet.timestamp, packet.marker, packet.payload)

    def push_fields(
        self,
        sequence: int,
        timestamp: int,
        marker: bool,
        payload: bytes | memoryview,
        start: int = 0,
    ) -> list[Output]:
        """:meth:`push` from the header fields; the payload is ``payload[start:]``, so a
        caller holding the whole RTP packet need not slice it."""
        raise NotImplementedError

    def flush(self) -> list[Output]:
        """What is still held (the publication ended)."""
        raise NotImplementedError
