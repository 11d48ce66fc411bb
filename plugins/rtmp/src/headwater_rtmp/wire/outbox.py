"""What an RTMP endpoint queues for its peer, shared by the server and the client session.

Every message goes through one :class:`ChunkWriter` (Adobe RTMP 1.0 section 5.3) on the
chunk stream its kind uses; :meth:`Outbox.data_to_send` hands the queued bytes out joined
once, :meth:`Outbox.take` as the pieces they are (for ``transport.writelines``: one
``writev`` and no copy in user space). Acknowledgements of the peer's window (section
5.4.3) are sent from here too.
"""

from __future__ import annotations

from typing import Any

from headwater.media.flv import amf0
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_writer import ChunkWriter
from headwater_rtmp.wire.commands import encode_command

_CSID = {m.VIDEO: m.CSID_VIDEO, m.AUDIO: m.CSID_AUDIO}


class Outbox:
    """Bytes queued for the peer, and the Window Acknowledgement bookkeeping."""

    __slots__ = ("_acked", "_out", "peer_window", "writer")

    def __init__(self) -> None:
        self.writer = ChunkWriter()
        self._out: list[bytes | memoryview] = []
        self.peer_window = 0
        """The window the peer announced (Window Acknowledgement Size); 0 until it does."""
        self._acked = 0

    def raw(self, data: bytes | memoryview) -> None:
        """Queue bytes as they are (handshake, Set Chunk Size)."""
        self._out.append(data)

    def control(self, type_id: int, payload: bytes) -> None:
        """Queue a protocol control or user control message (chunk stream 2, stream 0)."""
        self._out.append(self.writer.write(m.CSID_CONTROL, type_id, 0, 0, payload))

    def command(self, stream_id: int, name: str, tid: float, obj: Any, *args: Any) -> None:
        """Queue an AMF0 command message."""
        payload = encode_command(name, tid, obj, *args)
        self._out.append(self.writer.write(m.CSID_COMMAND, m.COMMAND_AMF0, stream_id, 0, payload))

    def data(self, stream_id: int, *values: Any) -> None:
        """Queue an AMF0 data message (``onMetaData``, ``|RtmpSampleAccess``...)."""
        payload = amf0.encode(*values)
        self._out.append(self.writer.write(m.CSID_DATA, m.DATA_AMF0, stream_id, 0, payload))

    def media(self, stream_id: int, type_id: int, timestamp: int, payload: bytes) -> None:
        """Queue one audio (8), video (9) or data (18) message."""
        csid = _CSID.get(type_id, m.CSID_DATA)
        self._out.extend(self.writer.write_parts(csid, type_id, stream_id, timestamp, payload))

    def media_many(self, stream_id: int, messages: list[tuple[int, int, bytes]]) -> None:
        """Queue several ``(type, timestamp, payload)`` media messages of one stream: the
        same bytes as :meth:`media` for each in order, chunked in one pass (a player's turn)."""
        self.writer.write_many(stream_id, messages, _CSID, m.CSID_DATA, self._out)

    def answer_ping(self, payload: bytes) -> None:
        """Answer a User Control Ping Request; other user control events need no answer."""
        event, value = m.parse_user_control(payload)
        if event == m.PING_REQUEST:
            self.control(m.USER_CONTROL, m.user_control(m.PING_RESPONSE, value))

    def acknowledge(self, received: int) -> None:
        """Send an Acknowledgement once a whole peer window was received since the last."""
        if self.peer_window and received - self._acked >= self.peer_window:
            self._acked = received
            self.control(m.ACK, m.acknowledgement(received))

    @property
    def pending(self) -> bool:
        """True when bytes are queued."""
        return bool(self._out)

    def take(self) -> list[bytes | memoryview]:
        """Everything queued, as the pieces it was queued in; empties the queue.

        The pieces are ``bytes`` or views of ``bytes`` (never of a buffer that is reused),
        so a transport may keep them until it has written them."""
        out = self._out
        self._out = []
        return out

    def data_to_send(self) -> bytes:
        """Everything queued, joined once; empties the queue."""
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data
