"""The publishing client side of an RTMP connection as a sans-I/O state machine (what the push
hook speaks; Adobe RTMP 1.0 section 7.2: connect, releaseStream, FCPublish, createStream,
publish), the same flow ffmpeg and OBS use, so any RTMP server accepts it.

:meth:`ClientSession.start` queues the handshake; feed the server's bytes to
:meth:`receive_data`, send :meth:`data_to_send`; once it returns
:class:`~headwater_rtmp.wire.events.PublishStarted`, queue media with :meth:`send_media`.
A refusal is a :class:`~headwater_rtmp.wire.events.Refused` event.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from headwater import ProtocolError
from headwater.media.flv import amf0
from headwater_rtmp.wire import events as ev
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkReader
from headwater_rtmp.wire.commands import parse_command
from headwater_rtmp.wire.handshake import ClientHandshake
from headwater_rtmp.wire.outbox import Outbox

_CONNECT, _RELEASE, _FCPUBLISH, _CREATE, _PUBLISH = 1.0, 2.0, 3.0, 4.0, 5.0


class ClientSession:
    """Publishes one stream named ``stream`` in application ``app`` at ``tc_url``."""

    def __init__(
        self,
        app: str,
        tc_url: str,
        stream: str,
        *,
        chunk_size: int = 4096,
        max_message_size: int = 8 << 20,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.app = app
        self.tc_url = tc_url
        self.stream = stream
        self.stream_id = 0
        self.publishing = False
        self.handshake = ClientHandshake(random)
        self.reader = ChunkReader(max_message_size)
        self.outbox = Outbox()
        self.writer = self.outbox.writer
        self._chunk_size = chunk_size

    def start(self) -> None:
        """Queue C0+C1."""
        self.outbox.raw(self.handshake.start())

    def receive_data(self, data: bytes) -> list[Any]:
        """Consume bytes from the server; return events."""
        if not self.handshake.done:
            c2 = self.handshake.receive_data(data)
            if not self.handshake.done:
                return []
            self.outbox.raw(c2)
            self.outbox.raw(self.writer.set_chunk_size(self._chunk_size))
            props = {
                "app": self.app,
                "type": "nonprivate",
                "flashVer": "FMLE/3.0 (compatible; headwater)",
                "tcUrl": self.tc_url,
                "fourCcList": ["avc1", "hvc1", "av01", "vp09", "Opus", "mp4a"],
            }
            self._command(0, "connect", _CONNECT, props)
            data = self.handshake.rest
        out: list[Any] = []
        for msg in self.reader.feed(data):
            t = msg.type_id
            if t in (m.COMMAND_AMF0, m.COMMAND_AMF3):
                self._on_command(msg, out)
            elif t == m.WINDOW_ACK_SIZE:
                self.outbox.peer_window = m.u32(msg.payload, "Window Acknowledgement Size")
            elif t == m.USER_CONTROL:
                self.outbox.answer_ping(msg.payload)
        self.outbox.acknowledge(self.reader.received)
        return out

    def _on_command(self, msg: m.Message, out: list[Any]) -> None:
        cmd = parse_command(msg.type_id, msg.payload)  # an AMFError is a ProtocolError
        info = cmd.arg(0)
        info = info if isinstance(info, dict) else {}
        if cmd.name == "_error" or (cmd.name == "onStatus" and info.get("level") == "error"):
            if cmd.transaction_id in (_RELEASE, _FCPUBLISH):
                return  # some servers refuse these harmless calls
            out.append(ev.Refused(str(info.get("code", "")), str(info.get("description", ""))))
            return
        if cmd.name == "_result" and cmd.transaction_id == _CONNECT:
            self._command(0, "releaseStream", _RELEASE, None, self.stream)
            self._command(0, "FCPublish", _FCPUBLISH, None, self.stream)
            self._command(0, "createStream", _CREATE, None)
        elif cmd.name == "_result" and cmd.transaction_id == _CREATE:
            sid = cmd.arg(0)
            if not isinstance(sid, float) or not 0 < sid < 1 << 31:
                raise ProtocolError(f"createStream answered with stream id {sid!r}")
            self.stream_id = int(sid)
            self._command(self.stream_id, "publish", _PUBLISH, None, self.stream, "live")
        elif cmd.name == "onStatus" and info.get("code") == "NetStream.Publish.Start":
            self.publishing = True
            out.append(ev.PublishStarted(self.stream_id))

    def _command(self, stream_id: int, name: str, tid: float, obj: Any, *args: Any) -> None:
        self.outbox.command(stream_id, name, tid, obj, *args)

    def send_metadata(self, metadata: dict[str, Any]) -> None:
        """Queue ``@setDataFrame onMetaData``."""
        self.outbox.data(self.stream_id, "@setDataFrame", "onMetaData", amf0.EcmaArray(metadata))

    def send_media(self, type_id: int, timestamp: int, payload: bytes) -> None:
        """Queue one audio or video message (an FLV tag body)."""
        self.outbox.media(self.stream_id, type_id, timestamp, payload)

    def finish(self) -> None:
        """Queue FCUnpublish and deleteStream (a polite goodbye)."""
        self._command(0, "FCUnpublish", 6.0, None, self.stream)
        self._command(0, "deleteStream", 7.0, None, float(self.stream_id))

    def data_to_send(self) -> bytes:
        """Everything queued for the server, joined once; empties the queue."""
        return self.outbox.data_to_send()
