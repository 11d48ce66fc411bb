"""The server side of an RTMP connection as a sans-I/O state machine (Adobe RTMP 1.0 sections
5.4, 7.1-7.2; the NetConnection/NetStream command flow real clients use).

Feed received bytes to :meth:`ServerSession.receive_data`; it returns events
(:mod:`headwater_rtmp.wire.events`, or a :class:`Message` for each audio/video message of a
publishing stream) and queues replies that :meth:`data_to_send` hands out. Commands:
``connect``, ``releaseStream``, ``FCPublish``, ``createStream``, ``publish``,
``FCUnpublish``, ``deleteStream``, ``closeStream``, ``getStreamLength``, ``play``,
``FCSubscribe``; data: ``@setDataFrame``/``onMetaData``. The caller decides publish and
play requests with ``accept_*``/``reject_*``; a refusal is always sent before any
``Publish.Start``. Several message streams may publish or play on one connection.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater import ProtocolError, shown
from headwater.media.flv.amf0 import UNDEFINED, EcmaArray
from headwater.media.flv.script import ON_METADATA, SET_DATA_FRAME
from headwater_rtmp.wire import events as ev
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkReader
from headwater_rtmp.wire.commands import (
    ERROR,
    STATUS,
    Command,
    amf_values,
    parse_command,
    status,
)
from headwater_rtmp.wire.handshake import ServerHandshake
from headwater_rtmp.wire.names import join_path
from headwater_rtmp.wire.outbox import Outbox
from headwater_rtmp.wire.stream_state import (
    IDLE,
    PENDING_PLAY,
    PENDING_PUBLISH,
    PLAYING,
    PUBLISHING,
    StreamState,
    next_state,
)

if TYPE_CHECKING:
    from headwater import ByteBudget

Event = (
    ev.Connected
    | ev.PublishRequested
    | ev.PlayRequested
    | ev.MetadataReceived
    | ev.StreamClosed
    | m.Message
)
"""What :meth:`ServerSession.receive_data` returns: a control event or a media message."""

MEDIA_TYPES = frozenset({m.AUDIO, m.VIDEO})
SUPPORTED_FOURCCS = ["avc1", "hvc1", "av01", "vp09", "Opus", "mp4a", ".mp3", "ac-3", "ec-3"]


class ServerSession:
    """One client connection, server side. See the module docstring for the flow."""

    def __init__(
        self,
        *,
        chunk_size: int = 4096,
        window: int = 2_500_000,
        max_message_size: int = 8 << 20,
        max_streams: int = 16,
        random: Callable[[int], bytes] = os.urandom,
        max_buffered: int | None = None,
        budget: ByteBudget | None = None,
    ) -> None:
        self.handshake = ServerHandshake(random)
        self.reader = ChunkReader(max_message_size, max_buffered=max_buffered, budget=budget)
        self.outbox = Outbox()
        self.writer = self.outbox.writer
        self.app = ""
        self.tc_url = ""
        self.connected = False
        self.streams: dict[int, StreamState] = {}
        """Message stream id → its state (transitions in :mod:`.stream_state`)."""
        self._withdrawn: set[int] = set()
        """Streams the client closed while we were deciding: a late decision is moot."""
        self.names: dict[int, str] = {}
        self._chunk_size = chunk_size
        self._window = window
        self._max_streams = max_streams
        self._next_stream = 1

    # -- input -------------------------------------------------------------------------------

    def receive_data(self, data: bytes | memoryview, now: float = 0.0) -> list[Event]:
        """Consume bytes from the client; return what happened, in order.

        ``now`` (the caller's clock) stamps messages as they start, for the caller's message
        deadline (:meth:`ChunkReader.oldest_started`)."""
        if not self.handshake.done:
            answer = self.handshake.receive_data(data)
            if answer:
                self.outbox.raw(answer)
            if not self.handshake.done:
                return []
            data = self.handshake.rest
            if not data:
                return []
        out: list[Event] = []
        streams = self.streams
        for msg in self.reader.feed(data, now):
            t = msg.type_id
            if t in MEDIA_TYPES:
                if streams.get(msg.stream_id) == PUBLISHING:
                    out.append(msg)
            elif t in (m.COMMAND_AMF0, m.COMMAND_AMF3):
                self._command(msg, out)
            elif t in (m.DATA_AMF0, m.DATA_AMF3):
                self._data(msg, out)
            elif t == m.USER_CONTROL:
                self.outbox.answer_ping(msg.payload)
            elif t == m.WINDOW_ACK_SIZE:
                self.outbox.peer_window = m.u32(msg.payload, "Window Acknowledgement Size")
            elif t == m.AGGREGATE and streams.get(msg.stream_id) == PUBLISHING:
                out.extend(split_aggregate(msg))
        self.outbox.acknowledge(self.reader.received)
        return out

    def _command(self, msg: m.Message, out: list[Event]) -> None:
        cmd = parse_command(msg.type_id, msg.payload)  # an AMFError is a ProtocolError
        name = cmd.name
        sid = msg.stream_id
        if name == "connect":
            self._connect(cmd, out)
            return
        if not self.connected:
            raise ProtocolError(f"RTMP command {shown(name)} before connect")
        if name == "createStream":
            if len(self.streams) >= self._max_streams:
                info = status(ERROR, "NetConnection.Call.Failed", "too many streams")
                self._reply("_error", cmd, info)
                return
            new = self._next_stream
            self._next_stream += 1
            self.streams[new] = IDLE
            self._send_command(0, "_result", cmd.transaction_id, None, float(new))
        elif name == "publish":
            path = str(cmd.arg(0, "") or "")
            kind = str(cmd.arg(1, "live") or "live")
            if self.streams.get(sid) != IDLE:
                self._on_status(sid, ERROR, "NetStream.Publish.BadName", "stream is busy")
                return
            full, args = join_path(self.app, path, self.tc_url)
            self._move(sid, "publish")
            self.names[sid] = full
            out.append(ev.PublishRequested(sid, full, args, kind))
        elif name == "play":
            path = str(cmd.arg(0, "") or "")
            if sid not in self.streams:
                self.streams[sid] = IDLE  # some players play on a stream they did not create
            if self.streams[sid] != IDLE:
                return
            full, args = join_path(self.app, path, self.tc_url)
            self._move(sid, "play")
            self.names[sid] = full
            out.append(ev.PlayRequested(sid, full, args))
        elif name in ("releaseStream", "FCPublish", "FCSubscribe", "_checkbw"):
            if cmd.transaction_id:
                self._send_command(0, "_result", cmd.transaction_id, None, UNDEFINED)
        elif name == "getStreamLength":
            self._send_command(0, "_result", cmd.transaction_id, None, 0.0)
        elif name in ("FCUnpublish", "closeStream", "deleteStream"):
            self._close(cmd, sid, out)

    def _connect(self, cmd: Command, out: list[Event]) -> None:
        if self.connected:
            raise ProtocolError("RTMP connect sent twice")
        props = cmd.obj if isinstance(cmd.obj, dict) else {}
        self.app = str(props.get("app", "") or "")
        self.tc_url = str(props.get("tcUrl", "") or "")
        self.connected = True
        self._control(m.WINDOW_ACK_SIZE, m.window_ack_size(self._window))
        self._control(m.SET_PEER_BANDWIDTH, m.set_peer_bandwidth(self._window))
        self.outbox.raw(self.writer.set_chunk_size(self._chunk_size))
        server_props: dict[str, Any] = {"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0}
        if "fourCcList" in props:
            server_props["fourCcList"] = SUPPORTED_FOURCCS
        encoding = props.get("objectEncoding", 0.0)
        info = status(
            STATUS,
            "NetConnection.Connect.Success",
            "Connection succeeded.",
            objectEncoding=float(encoding) if isinstance(encoding, float | int) else 0.0,
        )
        self._send_command(0, "_result", cmd.transaction_id, server_props, info)
        out.append(ev.Connected(self.app, self.tc_url, dict(props)))

    def _close(self, cmd: Command, sid: int, out: list[Event]) -> None:
        if cmd.name == "deleteStream":
            target = cmd.arg(0)
            sid = int(target) if isinstance(target, float) and 0 < target < 1 << 31 else sid
        elif cmd.name == "FCUnpublish":
            # sent on stream 0 naming the stream: find the publishing stream of that name
            full, _ = join_path(self.app, str(cmd.arg(0, "") or ""), self.tc_url)
            named = [s for s, n in self.names.items() if n == full]
            publishing = [s for s, st in self.streams.items() if st == PUBLISHING]
            sid = (named or publishing or [sid])[0]
            if cmd.transaction_id:
                self._send_command(0, "_result", cmd.transaction_id, None, UNDEFINED)
        state = self.streams.get(sid)
        if state is None:
            return
        if state in (PUBLISHING, PENDING_PUBLISH):
            name = self.names.get(sid, "")
            self._on_status(sid, STATUS, "NetStream.Unpublish.Success", f"{name} stopped")
        if state != IDLE:
            out.append(ev.StreamClosed(sid))
        if state in (PENDING_PUBLISH, PENDING_PLAY):
            self._withdrawn.add(sid)
        if cmd.name == "deleteStream":
            del self.streams[sid]
        else:
            self._move(sid, "close")
        self.names.pop(sid, None)

    def _data(self, msg: m.Message, out: list[Event]) -> None:
        if self.streams.get(msg.stream_id) != PUBLISHING:
            return
        values = amf_values(msg.type_id, msg.payload)  # an AMFError is a ProtocolError
        if values and values[0] == SET_DATA_FRAME:
            values = values[1:]
        if len(values) >= 2 and values[0] == ON_METADATA and isinstance(values[1], dict):
            out.append(ev.MetadataReceived(msg.stream_id, dict(values[1])))

    # -- decisions ---------------------------------------------------------------------------

    def accept_publish(self, stream_id: int) -> None:
        """Answer a :class:`PublishRequested`: Stream Begin and ``NetStream.Publish.Start``."""
        if self._moot(stream_id):
            return
        self._move(stream_id, "accept_publish")
        self._control(m.USER_CONTROL, m.user_control(m.STREAM_BEGIN, stream_id))
        name = self.names.get(stream_id, "")
        self._on_status(stream_id, STATUS, "NetStream.Publish.Start", f"{name} is now published.")

    def reject_publish(self, stream_id: int, code: str, description: str) -> None:
        """Refuse a publish (``NetStream.Publish.BadName``/``Unauthorized``); close afterwards."""
        if self._moot(stream_id):
            return
        self._move(stream_id, "reject_publish")
        self._on_status(stream_id, ERROR, code, description)

    def accept_play(self, stream_id: int, metadata: dict[str, Any] | None = None) -> None:
        """Answer a :class:`PlayRequested`: Stream Begin, ``Play.Reset``, ``Play.Start``,
        ``|RtmpSampleAccess`` and the stream's ``onMetaData``; media may follow."""
        if self._moot(stream_id):
            return
        self._move(stream_id, "accept_play")
        name = self.names.get(stream_id, "")
        self._control(m.USER_CONTROL, m.user_control(m.STREAM_BEGIN, stream_id))
        self._on_status(stream_id, STATUS, "NetStream.Play.Reset", f"Resetting {name}.")
        self._on_status(stream_id, STATUS, "NetStream.Play.Start", f"Started playing {name}.")
        self._data_message(stream_id, "|RtmpSampleAccess", True, True)
        if metadata:
            self._data_message(stream_id, ON_METADATA, EcmaArray(metadata))

    def reject_play(self, stream_id: int, description: str) -> None:
        """Refuse a play with ``NetStream.Play.StreamNotFound``."""
        if self._moot(stream_id):
            return
        self._move(stream_id, "reject_play")
        self._on_status(stream_id, ERROR, "NetStream.Play.StreamNotFound", description)

    def end_play(self, stream_id: int) -> None:
        """The played stream ended: Stream EOF and ``NetStream.Play.UnpublishNotify``."""
        if self.streams.get(stream_id) != PLAYING:
            return
        self._on_status(stream_id, STATUS, "NetStream.Play.UnpublishNotify", "stream ended")
        self._control(m.USER_CONTROL, m.user_control(m.STREAM_EOF, stream_id))
        self._move(stream_id, "end_play")

    def _move(self, stream_id: int, event: str) -> None:
        self.streams[stream_id] = next_state(self.streams.get(stream_id), event, stream_id)
        if event in ("publish", "play"):
            self._withdrawn.discard(stream_id)

    def _moot(self, stream_id: int) -> bool:
        """True when the client withdrew this request (closed the stream) before we decided;
        each request gets one decision, so the mark is used up here."""
        if stream_id in self._withdrawn and self.streams.get(stream_id) in (None, IDLE):
            self._withdrawn.discard(stream_id)
            return True
        return False

    # -- output ------------------------------------------------------------------------------

    def send_media(self, stream_id: int, type_id: int, timestamp: int, payload: bytes) -> None:
        """Queue one audio (8), video (9) or data (18) message for a playing stream."""
        self.outbox.media(stream_id, type_id, timestamp, payload)

    @property
    def pending(self) -> bool:
        """True when replies or media are queued for :meth:`data_to_send`."""
        return self.outbox.pending

    def data_to_send(self) -> bytes:
        """Everything queued for the client, joined once; empties the queue."""
        return self.outbox.data_to_send()

    def _control(self, type_id: int, payload: bytes) -> None:
        self.outbox.control(type_id, payload)

    def _send_command(self, stream_id: int, name: str, tid: float, obj: Any, *args: Any) -> None:
        self.outbox.command(stream_id, name, tid, obj, *args)

    def _reply(self, name: str, cmd: Command, info: dict[str, Any]) -> None:
        self._send_command(0, name, cmd.transaction_id, None, info)

    def _on_status(self, stream_id: int, level: str, code: str, description: str) -> None:
        self._send_command(stream_id, "onStatus", 0, None, status(level, code, description))

    def _data_message(self, stream_id: int, *values: Any) -> None:
        self.outbox.data(stream_id, *values)


def split_aggregate(msg: m.Message) -> list[m.Message]:
    """The audio/video sub-messages of an Aggregate message (7.1.6), timestamps rebased on
    the aggregate's own timestamp."""
    out: list[m.Message] = []
    data = msg.payload
    pos = 0
    first_ts: int | None = None
    while pos + 11 <= len(data):
        kind = data[pos]
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        ts = int.from_bytes(data[pos + 4 : pos + 7], "big") | data[pos + 7] << 24
        end = pos + 11 + size
        if end + 4 > len(data):
            raise ProtocolError("RTMP aggregate message truncated")
        if first_ts is None:
            first_ts = ts
        if kind in MEDIA_TYPES:
            stamp = (msg.timestamp + ts - first_ts) & 0xFFFFFFFF
            out.append(m.Message(kind, msg.stream_id, stamp, bytes(data[pos + 11 : end]), msg.csid))
        pos = end + 4
    return out
