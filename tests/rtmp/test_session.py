"""The sans-I/O sessions: server and publishing client talking through memory, the command
flow and replies real clients wait for, refusals before Publish.Start, names, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.errors import LocalProtocolError, ProtocolError
from headwater.media.flv import amf0
from headwater_rtmp.wire import events as ev
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkReader
from headwater_rtmp.wire.chunk_writer import ChunkWriter
from headwater_rtmp.wire.client_session import ClientSession
from headwater_rtmp.wire.commands import encode_command, parse_command
from headwater_rtmp.wire.handshake import SIZE
from headwater_rtmp.wire.names import join_path
from headwater_rtmp.wire.session import ServerSession


def pump(client: ClientSession, server: ServerSession, rounds: int = 10):
    """Move bytes both ways until quiet; return (client events, server events)."""
    c_events, s_events = [], []
    for _ in range(rounds):
        a = client.data_to_send()
        if a:
            s_events += server.receive_data(a)
        b = server.data_to_send()
        if b:
            c_events += client.receive_data(b)
        if not a and not b:
            break
    return c_events, s_events


def tap(server: ServerSession) -> list[m.Message]:
    """Decode (after the handshake) every message the server sends, into the returned list."""
    reader = ChunkReader()
    captured: list[m.Message] = []
    original = server.data_to_send
    handshake_left = [1 + 2 * SIZE]

    def data_to_send() -> bytes:
        data = original()
        skip = min(handshake_left[0], len(data))
        handshake_left[0] -= skip
        if data[skip:]:
            captured.extend(reader.feed(data[skip:]))
        return data

    server.data_to_send = data_to_send  # type: ignore[method-assign]
    return captured


def connected_pair(stream="cam1?password=x", app="live", tc_url="rtmp://h/live?token=t"):
    client = ClientSession(app, tc_url, stream, chunk_size=1000)
    client.start()
    server = ServerSession(chunk_size=2000)
    server.sent = tap(server)
    c_events, s_events = pump(client, server)
    return client, server, c_events, s_events


def test_publish_flow_accept_and_media():
    client, server, c_events, s_events = connected_pair()
    assert isinstance(s_events[0], ev.Connected) and s_events[0].app == "live"
    req = s_events[1]
    assert req == ev.PublishRequested(1, "live/cam1", {"token": "t", "password": "x"}, "live")
    assert c_events == []  # nothing before the decision
    server.accept_publish(req.stream_id)
    c_events, _ = pump(client, server)
    assert c_events == [ev.PublishStarted(1)]
    client.send_metadata({"width": 320.0})
    client.send_media(m.VIDEO, 40, b"\x17\x01\x00\x00\x00" + b"v" * 5000)
    client.send_media(m.AUDIO, 1 << 24, b"\xaf\x01a")
    _, s_events = pump(client, server)
    assert s_events[0] == ev.MetadataReceived(1, {"width": 320.0})
    assert [(x.type_id, x.timestamp, len(x.payload)) for x in s_events[1:]] == [
        (m.VIDEO, 40, 5005),
        (m.AUDIO, 1 << 24, 3),
    ]
    client.finish()
    _, s_events = pump(client, server)
    assert s_events == [ev.StreamClosed(1)]


@pytest.mark.parametrize(
    ("code", "description"),
    [
        ("NetStream.Publish.BadName", "stream 'live/cam1' is already being published"),
        ("NetStream.Publish.Unauthorized", "wrong password"),
    ],
)
def test_refusal_reaches_the_client_before_any_publish_start(code, description):
    client, server, _, s_events = connected_pair()
    server.reject_publish(s_events[1].stream_id, code, description)
    c_events, _ = pump(client, server)
    assert c_events == [ev.Refused(code, description)]
    assert not client.publishing


def test_ack_window_and_ping():
    client, server, _, _ = connected_pair()
    server.accept_publish(1)
    pump(client, server)
    # the client announces a small window: the server must acknowledge
    w = client.writer
    client.outbox.raw(w.write(m.CSID_CONTROL, m.WINDOW_ACK_SIZE, 0, 0, m.window_ack_size(1000)))
    client.outbox.raw(w.write(m.CSID_CONTROL, m.USER_CONTROL, 0, 0, m.user_control(6, 77)))
    client.send_media(m.AUDIO, 0, b"\xaf\x01" + bytes(3000))
    server.receive_data(client.data_to_send())
    del server.sent[:]
    server.data_to_send()
    replies = {x.type_id: x.payload for x in server.sent}
    assert m.u32(replies[m.ACK], "ack") == server.reader.received
    assert replies[m.USER_CONTROL] == m.user_control(m.PING_RESPONSE, 77)


def _player_commands(app: str, name: str) -> bytes:
    """What ffmpeg sends to play: connect, createStream, getStreamLength, play."""
    w = ChunkWriter()
    connect = encode_command("connect", 1, {"app": app, "tcUrl": f"rtmp://h/{app}"})
    parts = [
        w.write(3, m.COMMAND_AMF0, 0, 0, connect),
        w.write(3, m.COMMAND_AMF0, 0, 0, encode_command("createStream", 2, None)),
        w.write(3, m.COMMAND_AMF0, 0, 0, encode_command("getStreamLength", 3, None, name)),
        w.write(8, m.COMMAND_AMF0, 1, 0, encode_command("play", 4, None, name, -2000.0)),
    ]
    return b"".join(parts)


def _handshaken_server() -> ServerSession:
    server = ServerSession()
    server.receive_data(b"\x03" + bytes(SIZE) + bytes(SIZE))
    server.data_to_send()
    return server


def test_play_flow_replies_in_order():
    server = _handshaken_server()
    events = server.receive_data(_player_commands("rtmp", "live/cam1"))
    assert events[1] == ev.PlayRequested(1, "live/cam1", {})
    server.accept_play(1, {"width": 320.0})
    server.send_media(1, m.VIDEO, 0, b"\x17\x00\x00\x00\x00rec")
    reader = ChunkReader()
    msgs = reader.feed(server.data_to_send())
    statuses = [
        parse_command(x.type_id, x.payload).arg(0)["code"]
        for x in msgs
        if x.type_id == m.COMMAND_AMF0 and parse_command(x.type_id, x.payload).name == "onStatus"
    ]
    assert statuses == ["NetStream.Play.Reset", "NetStream.Play.Start"]
    data = [amf0.decode(x.payload) for x in msgs if x.type_id == m.DATA_AMF0]
    assert data == [["|RtmpSampleAccess", True, True], ["onMetaData", {"width": 320.0}]]
    results = [parse_command(x.type_id, x.payload) for x in msgs if x.type_id == m.COMMAND_AMF0]
    assert [(r.name, r.transaction_id) for r in results[:3]] == [
        ("_result", 1.0),
        ("_result", 2.0),
        ("_result", 3.0),
    ]
    assert msgs[-1].type_id == m.VIDEO and msgs[-1].stream_id == 1
    server.end_play(1)
    tail = reader.feed(server.data_to_send())
    assert (
        parse_command(tail[0].type_id, tail[0].payload)
        .arg(0)["code"]
        .endswith("Unpublish" + "Notify")
    )


def test_two_publishes_on_one_connection():
    server = _handshaken_server()
    w = ChunkWriter()
    connect = encode_command("connect", 1, {"app": "client15"})
    wire = [w.write(3, m.COMMAND_AMF0, 0, 0, connect)]
    for tid in (2, 3):
        wire.append(w.write(3, m.COMMAND_AMF0, 0, 0, encode_command("createStream", tid, None)))
    wire.append(w.write(4, m.COMMAND_AMF0, 1, 0, encode_command("publish", 4, None, "a", "live")))
    wire.append(w.write(4, m.COMMAND_AMF0, 2, 0, encode_command("publish", 5, None, "b", "live")))
    events = server.receive_data(b"".join(wire))
    reqs = [e for e in events if isinstance(e, ev.PublishRequested)]
    assert [(r.stream_id, r.path) for r in reqs] == [(1, "client15/a"), (2, "client15/b")]
    server.accept_publish(1)
    server.accept_publish(2)
    media = w.write(6, m.VIDEO, 2, 5, b"\x27\x01\0\0\0") + w.write(6, m.VIDEO, 1, 5, b"\x27")
    assert [x.stream_id for x in server.receive_data(media)] == [2, 1]


def test_commands_before_connect_and_bad_amf_are_protocol_errors():
    server = _handshaken_server()
    w = ChunkWriter()
    with pytest.raises(ProtocolError, match="before connect"):
        server.receive_data(w.write(3, 20, 0, 0, encode_command("createStream", 1, None)))
    server = _handshaken_server()
    with pytest.raises(ProtocolError, match="malformed"):
        server.receive_data(w.write(3, 20, 0, 0, b"\x02\x00\x09conn"))


NAMES = [
    # app, stream, tcUrl, path, args
    ("published", "", "", "published", {}),
    ("rtmp", "published", "", "published", {}),
    ("client15", "published1", "", "client15/published1", {}),
    ("", "published", "", "published", {}),
    ("live", "cam1?password=x", "", "live/cam1", {"password": "x"}),
    ("live?password=y", "cam1", "rtmp://h/live?password=y", "live/cam1", {"password": "y"}),
    ("chats", "my/chat-15", "rtmp://h/chats?a=1", "chats/my/chat-15", {"a": "1"}),
    ("rtmp", "mp4:vod/x", "", "vod/x", {}),
    # regression (issue 13): slashes are judged by the core's one rule, not tidied away
    ("live/", "a", "rtmp://h/live/", "live//a", {}),
    ("live", "/a", "", "live//a", {}),
]


@pytest.mark.parametrize(("app", "stream", "tc", "path", "args"), NAMES)
def test_names(app, stream, tc, path, args):
    assert join_path(app, stream, tc) == (path, args)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_after_handshake_only_protocol_errors(data):
    server = _handshaken_server()
    server.receive_data(_player_commands("live", "x"))
    with contextlib.suppress(ProtocolError):
        server.receive_data(data)


def test_amf3_command_and_data_messages():
    """Flash clients with objectEncoding 3 send commands as type 17 and data as type 15."""
    from headwater_rtmp.wire import amf3

    server = _handshaken_server()
    w = ChunkWriter()

    def amf3_command(*values):
        return (
            b"\x00"
            + amf0.encode(*values[:3])
            + b"".join(b"\x11" + amf3.encode(v) for v in values[3:])
        )

    wire = [
        w.write(
            3,
            m.COMMAND_AMF3,
            0,
            0,
            amf3_command("connect", 1.0, {"app": "live", "objectEncoding": 3.0}),
        ),
        w.write(3, m.COMMAND_AMF3, 0, 0, amf3_command("createStream", 2.0, None)),
        w.write(3, m.COMMAND_AMF3, 1, 0, amf3_command("publish", 3.0, None, "cam", "live")),
    ]
    events = server.receive_data(b"".join(wire))
    assert events[-1] == ev.PublishRequested(1, "live/cam", {}, "live")
    server.accept_publish(1)
    meta = (
        b"\x00" + amf0.encode("@setDataFrame", "onMetaData") + b"\x11" + amf3.encode({"width": 640})
    )
    assert server.receive_data(w.write(5, m.DATA_AMF3, 1, 0, meta)) == [
        ev.MetadataReceived(1, {"width": 640})
    ]


# -- the stream state table (stream_state.py) -------------------------------------------------


def test_every_transition_is_in_the_table():
    from headwater_rtmp.wire.stream_state import TRANSITIONS, StreamState, next_state

    assert next_state(StreamState.IDLE, "publish", 1) is StreamState.PENDING_PUBLISH
    assert next_state(StreamState.PENDING_PLAY, "accept_play", 1) is StreamState.PLAYING
    for state in StreamState:
        assert TRANSITIONS[state, "close"] is StreamState.IDLE
    with pytest.raises(LocalProtocolError, match=r"accept_publish is not allowed .* state idle"):
        next_state(StreamState.IDLE, "accept_publish", 3)
    with pytest.raises(LocalProtocolError, match="never created"):
        next_state(None, "accept_play", 9)


def test_accepting_a_publish_that_was_never_requested_is_our_bug():
    _client, server, _, s_events = connected_pair()
    server.accept_publish(s_events[1].stream_id)
    with pytest.raises(LocalProtocolError):
        server.accept_publish(s_events[1].stream_id)  # already publishing
    with pytest.raises(LocalProtocolError):
        server.accept_publish(42)  # no such message stream
    assert not isinstance(LocalProtocolError("x"), ProtocolError)  # not the peer's fault


def test_a_decision_after_the_client_withdrew_its_publish_is_dropped():
    client, server, _, s_events = connected_pair()
    sid = s_events[1].stream_id
    client.finish()  # FCUnpublish + deleteStream before we decided
    _, s_events = pump(client, server)
    assert s_events == [ev.StreamClosed(sid)]
    sent = len(server.sent)
    server.accept_publish(sid)  # moot: nothing is sent, nothing raised
    pump(client, server)
    assert len(server.sent) == sent
    with pytest.raises(LocalProtocolError):
        server.accept_publish(sid)  # the one decision was used up
