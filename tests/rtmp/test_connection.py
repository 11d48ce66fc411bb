"""The RTMP transport (``headwater_rtmp.connection``/``server``) with in-test clients, on the
plain asyncio loop and on uvloop (what ``headwater serve`` runs): a publisher's messages
reach a player byte for byte, whatever the read sizes; a player that stops reading loses
frames up to a keyframe and is dropped after ``send_timeout`` while the publisher carries on;
the connection limit and shutdown close clients."""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket

import anyio
import pytest

from headwater.media.flv import FlvMuxer
from headwater.media.frames import Codec, Frame, MediaKind, Track
from headwater.testing import running_server, wait_for_stream
from headwater_rtmp.wire import events as ev
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkReader
from headwater_rtmp.wire.chunk_writer import ChunkWriter
from headwater_rtmp.wire.client_session import ClientSession
from headwater_rtmp.wire.commands import encode_command, parse_command

pytestmark = pytest.mark.anyio

SPS = b"\x67\x42\xc0\x1e\xd9\x00\xa0\x47\xfe\xc8"
PPS = b"\x68\xce\x3c\x80"
VIDEO = Track(1, Codec.H264, MediaKind.VIDEO, parameter_sets=(SPS, PPS))
AUDIO = Track(2, Codec.AAC, MediaKind.AUDIO, config=b"\x11\x90", sample_rate=48000, channels=2)


@pytest.fixture
def anyio_backend(asyncio_and_uvloop):
    return asyncio_and_uvloop  # both event loops (tests/conftest.py)


def media(count: int, *, big: int = 40_000, seed: int = 1) -> list[tuple[int, int, bytes]]:
    """(type, timestamp, FLV body) of ``count`` video frames (a keyframe every 30, sizes up to
    ``big``) with an audio frame after each, sequence headers first, as a publisher sends."""
    rng = random.Random(seed)
    muxer = FlvMuxer()
    out = []
    for i in range(count):
        size = big if i % 30 == 0 else rng.randrange(200, big // 4)
        nalus = (bytes((0x65 if i % 30 == 0 else 0x41,)) + os.urandom(size),)
        frames = [
            Frame(VIDEO, (i * 40 + 80) * 90, i * 40 * 90, i % 30 == 0, nalus=nalus),
            Frame(AUDIO, i * 40 * 90, i * 40 * 90, True, data=os.urandom(rng.randrange(20, 400))),
        ]
        for frame in frames:
            out.extend((tag.kind, tag.timestamp, tag.data) for tag in muxer.frame(frame))
    return out


class Publisher:
    """An in-test RTMP publisher on :class:`ClientSession`."""

    def __init__(self, sock, session: ClientSession) -> None:
        self.sock = sock
        self.session = session

    @classmethod
    async def connect(cls, port: int, name: str) -> Publisher:
        sock = await anyio.connect_tcp("127.0.0.1", port)
        session = ClientSession("live", f"rtmp://127.0.0.1:{port}/live", name)
        session.start()
        with anyio.fail_after(5):
            while not session.publishing:
                await sock.send(session.data_to_send())
                for event in session.receive_data(await sock.receive()):
                    assert not isinstance(event, ev.Refused), event
        return cls(sock, session)

    async def send(self, messages: list[tuple[int, int, bytes]]) -> None:
        for kind, timestamp, body in messages:
            self.session.send_media(kind, timestamp, body)
        await self.sock.send(self.session.data_to_send())


async def play(port: int, name: str, *, receive_buffer: int = 0):
    """Connect, play ``live/name``; returns the socket and a reader for the messages."""
    sock = await anyio.connect_tcp("127.0.0.1", port)
    if receive_buffer:
        raw = sock.extra(anyio.abc.SocketAttribute.raw_socket)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    after = await handshake(sock)
    writer = ChunkWriter()
    await sock.send(
        hello(writer, 1)
        + writer.write(8, m.COMMAND_AMF0, 1, 0, encode_command("play", 3, None, name))
    )
    reader = ChunkReader()
    reader.feed(after)
    return sock, reader


def hello(writer: ChunkWriter, streams: int) -> bytes:
    """What a raw client sends after the server's handshake: C2 (zeros: the server does not
    check it), ``connect`` to ``live`` (transaction 1) and ``streams`` ``createStream``
    (transactions 2 on), whose streams the server numbers 1 on."""
    connect = encode_command("connect", 1, {"app": "live", "tcUrl": "rtmp://127.0.0.1/live"})
    out = bytes(1536) + writer.write(3, m.COMMAND_AMF0, 0, 0, connect)
    for n in range(streams):
        out += writer.write(3, m.COMMAND_AMF0, 0, 0, encode_command("createStream", 2 + n, None))
    return out


async def handshake(sock) -> bytes:
    """Send C0 and C1 and read S0, S1 and S2; returns what the server sent after them.
    The caller sends C2 (1536 bytes) in front of its first messages."""
    await sock.send(b"\x03" + bytes(1536))
    got = b""
    with anyio.fail_after(5):
        while len(got) < 1 + 2 * 1536:
            got += await sock.receive()
    return got[1 + 2 * 1536 :]


async def read_media(sock, reader: ChunkReader, count: int) -> list[tuple[int, int, bytes]]:
    """The next ``count`` audio/video messages the player gets."""
    out: list[tuple[int, int, bytes]] = []
    with anyio.fail_after(10):
        while len(out) < count:
            for msg in reader.feed(await sock.receive()):
                if msg.type_id in (m.AUDIO, m.VIDEO):
                    out.append((msg.type_id, msg.timestamp, msg.payload))
    return out


@pytest.mark.parametrize("batching", [{}, {"read_interval": 0, "play_interval": 0}])
async def test_messages_reach_a_player_byte_for_byte(batching):
    sent = media(90)
    async with running_server({"rtmp": batching}, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        pub = await Publisher.connect(port, "cam")
        first_gop = sent[:4]  # two sequence headers, the keyframe, its audio
        await pub.send(first_gop)
        await wait_for_stream(hw.server, "live/cam", frames=2)
        sock, reader = await play(port, "cam")
        rest = sent[4:]
        for i in range(0, len(rest), 7):  # writes of a few messages: many small reads
            await pub.send(rest[i : i + 7])
        got = await read_media(sock, reader, len(sent))
        assert got == sent
        stream = hw.server.streams.get("live/cam")
        assert stream.stats.frames_in == 180
        assert stream.stats.wire_bytes_in > sum(len(body) for _, _, body in sent)
        assert stream.describe()["stats"]["drops"] == 0
        await sock.aclose()
        await pub.sock.aclose()


async def test_players_sharing_the_play_timer_each_get_every_message_and_the_end():
    """Three players of one stream take their turns from the listener's one timer; one
    leaves half-way; the others get every message byte for byte, then the end of the
    stream (UnpublishNotify) when the publisher leaves."""
    sent = media(60)
    async with running_server({"rtmp": {"play_interval": 0.05}}, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        pub = await Publisher.connect(port, "cam")
        await pub.send(sent[:4])
        await wait_for_stream(hw.server, "live/cam", frames=2)
        players = [await play(port, "cam") for _ in range(3)]
        stream = hw.server.streams.get("live/cam")
        with anyio.fail_after(10):
            while len(stream.subscriptions) < 3:  # noqa: ASYNC110 (polling the server)
                await anyio.sleep(0.02)
        rest = sent[4:]
        half = len(rest) // 2
        for i in range(0, half, 5):
            await pub.send(rest[i : min(i + 5, half)])
        got = [await read_media(sock, reader, 4 + half) for sock, reader in players]
        assert got == [sent[: 4 + half]] * 3
        await players[2][0].aclose()  # one player leaves
        with anyio.fail_after(10):
            while len(stream.subscriptions) > 2:  # noqa: ASYNC110
                await anyio.sleep(0.02)
        for i in range(half, len(rest), 5):
            await pub.send(rest[i : i + 5])
        for sock, reader in players[:2]:
            assert await read_media(sock, reader, len(rest) - half) == sent[4 + half :]
        await pub.sock.aclose()  # the publisher leaves: each player hears the end
        for sock, reader in players[:2]:
            ended = False
            with anyio.fail_after(10):
                while not ended:
                    for msg in reader.feed(await sock.receive()):
                        if msg.type_id == m.COMMAND_AMF0:
                            ended = ended or b"UnpublishNotify" in msg.payload
            await sock.aclose()


@pytest.mark.parametrize(
    "intervals",
    [
        {"read_interval": 0.05, "play_interval": 0.05},
        {"read_interval": 0.03, "play_interval": 0.07},
    ],
)
async def test_streams_on_the_shared_ticks_each_reach_their_player_byte_for_byte(intervals):
    """Three publishers and their players: paused reads and players' rests end on the
    listener's ticks (one for both intervals when they are equal); each player gets its
    own stream, every message, byte for byte."""
    streams = {f"cam{i}": media(45, big=12_000, seed=i + 7) for i in range(3)}
    async with running_server({"rtmp": intervals}, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        pubs = {name: await Publisher.connect(port, name) for name in streams}
        for name, sent in streams.items():
            await pubs[name].send(sent[:4])
            await wait_for_stream(hw.server, f"live/{name}", frames=2)
        players = {name: await play(port, name) for name in streams}
        for name in streams:
            stream = hw.server.streams.get(f"live/{name}")
            with anyio.fail_after(10):
                while not stream.subscriptions:  # noqa: ASYNC110 (polling the server)
                    await anyio.sleep(0.02)
        count = len(streams["cam0"])
        assert all(len(sent) == count for sent in streams.values())
        for i in range(4, count, 3):  # interleaved small writes: reads land between ticks
            for name, sent in streams.items():
                await pubs[name].send(sent[i : i + 3])
            await anyio.sleep(0.005)
        for name, sent in streams.items():
            sock, reader = players[name]
            assert await read_media(sock, reader, len(sent)) == sent
            await sock.aclose()
            await pubs[name].sock.aclose()


def endless(big: int):
    """Video (a keyframe every 30, up to ``big`` bytes) and audio messages without end."""
    block = os.urandom(big)
    muxer = FlvMuxer()
    for i in itertools.count():
        size = big - 1 if i % 30 == 0 else 200 + i * 7919 % (big // 4)
        nalus = (bytes((0x65 if i % 30 == 0 else 0x41,)) + block[:size],)
        frames = [
            Frame(VIDEO, i * 40 * 90, i * 40 * 90, i % 30 == 0, nalus=nalus),
            Frame(AUDIO, i * 40 * 90, i * 40 * 90, True, data=block[:300]),
        ]
        for frame in frames:
            yield from ((tag.kind, tag.timestamp, tag.data) for tag in muxer.frame(frame))


async def test_a_player_that_stops_reading_is_dropped_not_the_publisher(caplog):
    caplog.set_level(logging.INFO, "headwater")
    config = {"limits": {"queue_frames": 64}, "rtmp": {"send_timeout": 1.0}}
    async with running_server(config, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        pub = await Publisher.connect(port, "cam")
        messages = endless(300_000)
        await pub.send(list(itertools.islice(messages, 4)))
        await wait_for_stream(hw.server, "live/cam", frames=2)
        sock, _ = await play(port, "cam", receive_buffer=4096)  # ... and it never reads
        stream = hw.server.streams.get("live/cam")
        with anyio.fail_after(10):
            while not stream.subscriptions:  # noqa: ASYNC110 (polling the server is the point)
                await anyio.sleep(0.02)
        sub = stream.subscriptions[0]
        sent = 2
        with anyio.fail_after(20):  # more than the kernel buffers hold, paced a little
            while stream.subscriptions:
                await pub.send(list(itertools.islice(messages, 8)))
                sent += 8
                await anyio.sleep(0.005)
        assert sub.dropped > 0
        assert any("not reading for 1s" in r.getMessage() for r in caplog.records)
        for _ in range(10):  # the publisher carries on
            await pub.send(list(itertools.islice(messages, 8)))
            sent += 8
        with anyio.fail_after(5):  # ... and was never held back: every frame arrived
            while stream.stats.frames_in < sent:  # noqa: ASYNC110
                await anyio.sleep(0.02)
        assert stream.live and stream.stats.frames_in == sent
        await sock.aclose()
        await pub.sock.aclose()


async def closed(sock) -> bool:
    """True when the server closes ``sock`` within 2 s (what it sends is ignored)."""
    try:
        with anyio.fail_after(2):
            while await sock.receive():
                pass
    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
        return True
    except TimeoutError:
        return False
    return True


async def test_connection_limit_and_shutdown_close_clients(caplog):
    async with running_server({"limits": {"max_connections": 1}}, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        first = await anyio.connect_tcp("127.0.0.1", port)
        await first.send(b"\x03" + bytes(1536))
        with anyio.fail_after(5):
            assert await first.receive()  # the first client is served
        second = await anyio.connect_tcp("127.0.0.1", port)
        assert await closed(second)
        assert any("limit of 1 connections is reached" in r.getMessage() for r in caplog.records)
    assert await closed(first)  # the server's end closed its clients
    await first.aclose()
    await second.aclose()


async def test_a_publisher_taken_over_is_closed_and_the_new_one_publishes():
    template = {"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}]}
    config = {"templates": [{**template, "takeover": True}]}
    async with running_server(config, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        sent = media(10)
        first = await Publisher.connect(port, "cam")
        await first.send(sent[:4])
        await wait_for_stream(hw.server, "live/cam", frames=2)
        second = await Publisher.connect(port, "cam")
        assert await closed(first.sock)
        await second.send(sent)
        await wait_for_stream(hw.server, "live/cam", frames=20)
        stream = hw.server.streams.get("live/cam")
        assert stream.publisher["port"] == second.sock.extra(anyio.abc.SocketAttribute.local_port)
        assert stream.stats.frames_in == 20
        await first.sock.aclose()
        await second.sock.aclose()


async def read_status(sock, reader: ChunkReader) -> dict:
    """The first ``onStatus`` info object the player gets."""
    with anyio.fail_after(5):
        while True:
            for msg in reader.feed(await sock.receive()):
                if msg.type_id == m.COMMAND_AMF0:
                    command = parse_command(msg.type_id, msg.payload)
                    if command.name == "onStatus":
                        return command.args[0]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("nobody", "no stream 'live/nobody'"), ("idle", "stream 'live/idle' is not live")],
)
async def test_a_player_of_no_live_stream_gets_stream_not_found(name, reason, caplog):
    caplog.set_level(logging.WARNING, "headwater.play")
    config = {"streams": [{"name": "live/idle", "inputs": [{"url": "publish://"}]}]}
    async with running_server(config, protocols=("rtmp",)) as hw:
        sock, reader = await play(hw.port("rtmp"), name)
        info = await read_status(sock, reader)
        assert info["code"] == "NetStream.Play.StreamNotFound" and info["description"] == reason
        assert any(f"refused rtmp play from 127.0.0.1 ('live/{name}'): {reason}" in r.getMessage()
                   for r in caplog.records)  # fmt: skip
        await sock.aclose()
