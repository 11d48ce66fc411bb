"""RTMP message types and the protocol control messages (Adobe RTMP 1.0 sections 5.4 and 6.2,
7.1): Set Chunk Size, Abort, Acknowledgement, Window Acknowledgement Size, Set Peer
Bandwidth and the User Control events (Stream Begin/EOF/Dry, Set Buffer Length, Ping).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from headwater import ProtocolError

SET_CHUNK_SIZE = 1
ABORT = 2
ACK = 3
USER_CONTROL = 4
WINDOW_ACK_SIZE = 5
SET_PEER_BANDWIDTH = 6
AUDIO = 8
VIDEO = 9
DATA_AMF3 = 15
SHARED_OBJECT_AMF3 = 16
COMMAND_AMF3 = 17
DATA_AMF0 = 18
SHARED_OBJECT_AMF0 = 19
COMMAND_AMF0 = 20
AGGREGATE = 22

CONTROL_TYPES = frozenset({SET_CHUNK_SIZE, ABORT, ACK, USER_CONTROL, WINDOW_ACK_SIZE})

# User Control event types (7.1.7).
STREAM_BEGIN = 0
STREAM_EOF = 1
STREAM_DRY = 2
SET_BUFFER_LENGTH = 3
STREAM_IS_RECORDED = 4
PING_REQUEST = 6
PING_RESPONSE = 7

# Chunk stream ids headwater writes on (ffmpeg uses the same split).
CSID_CONTROL = 2
CSID_COMMAND = 3
CSID_AUDIO = 4
CSID_DATA = 5
CSID_VIDEO = 6

# Set Peer Bandwidth limit types (5.4.5).
LIMIT_HARD, LIMIT_SOFT, LIMIT_DYNAMIC = 0, 1, 2

_U32 = struct.Struct(">I")
_UC = struct.Struct(">HI")


class Message(NamedTuple):
    """One RTMP message, reassembled from its chunks.

    ``timestamp`` is the 32-bit millisecond value as the chunk headers give it (the
    caller unwraps it); ``payload`` is ``bytes``. A named tuple, so that the chunk reader
    makes one with a single C call (``tuple.__new__``, no Python ``__init__`` per message)
    and its fields are read by C descriptors.
    """

    type_id: int
    stream_id: int
    timestamp: int
    payload: bytes
    csid: int = 0


def u32(payload: bytes, what: str) -> int:
    """The 4-byte big-endian value that makes up most control messages."""
    if len(payload) < 4:
        raise ProtocolError(f"RTMP {what} message shorter than 4 bytes")
    return _U32.unpack_from(payload)[0]


def set_chunk_size(size: int) -> bytes:
    """Payload of Set Chunk Size (5.4.1)."""
    return _U32.pack(size & 0x7FFFFFFF)


def acknowledgement(sequence: int) -> bytes:
    """Payload of Acknowledgement (5.4.3): bytes received so far, modulo 2^32."""
    return _U32.pack(sequence & 0xFFFFFFFF)


def window_ack_size(size: int) -> bytes:
    """Payload of Window Acknowledgement Size (5.4.4)."""
    return _U32.pack(size)


def set_peer_bandwidth(size: int, limit: int = LIMIT_DYNAMIC) -> bytes:
    """Payload of Set Peer Bandwidth (5.4.5)."""
    return _U32.pack(size) + bytes((limit,))


def user_control(event: int, value: int, extra: int | None = None) -> bytes:
    """Payload of a User Control event (7.1.7); Set Buffer Length carries a second value."""
    body = _UC.pack(event, value & 0xFFFFFFFF)
    return body if extra is None else body + _U32.pack(extra)


def parse_user_control(payload: bytes) -> tuple[int, int]:
    """(event type, first value) of a User Control message."""
    if len(payload) < 6:
        raise ProtocolError("RTMP User Control message shorter than 6 bytes")
    event, value = _UC.unpack_from(payload)
    return event, value
