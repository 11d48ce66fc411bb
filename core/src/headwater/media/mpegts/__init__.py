"""MPEG-TS (ISO/IEC 13818-1) for headwater: a sans-I/O demuxer and muxer.

``TSReader().feed(data)`` → :class:`TracksChanged` and :class:`~headwater.media.frames.Frame`
events; ``TSWriter(tracks).write(frame)`` → 188-byte-aligned packets. The SRT and mpegts
plugins and the DVR all build on these; nothing here imports anyio or touches a socket.
"""

from headwater.media.mpegts.packet import PACKET_SIZE, SYNC_BYTE
from headwater.media.mpegts.pes import PESError
from headwater.media.mpegts.psi import PSIError
from headwater.media.mpegts.reader import TracksChanged, TSReader
from headwater.media.mpegts.writer import TSWriter

__all__ = [
    "PACKET_SIZE",
    "SYNC_BYTE",
    "PESError",
    "PSIError",
    "TSReader",
    "TSWriter",
    "TracksChanged",
]
