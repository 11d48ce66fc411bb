"""A publisher's read is handed to its stream at once (``Publication.send_many``): two
streams published on one connection each get their own frames in order, whatever the
interleaving within a read, and the frames a read brought before a bad message are
published before the client is closed."""

from __future__ import annotations

import logging

import anyio
import pytest
from test_connection import Publisher, handshake, hello, media, play, read_media

from headwater.testing import running_server, wait_for_stream
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkReader
from headwater_rtmp.wire.chunk_writer import ChunkWriter
from headwater_rtmp.wire.commands import encode_command, parse_command

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend(asyncio_and_uvloop):
    return asyncio_and_uvloop  # both event loops (tests/conftest.py)


async def _publish_two(port: int) -> tuple[anyio.abc.SocketStream, ChunkWriter]:
    """A raw client publishing ``live/one`` on stream 1 and ``live/two`` on stream 2."""
    sock = await anyio.connect_tcp("127.0.0.1", port)
    after = await handshake(sock)
    writer = ChunkWriter()
    await sock.send(
        hello(writer, 2)
        + writer.write(8, m.COMMAND_AMF0, 1, 0, encode_command("publish", 4, None, "one"))
        + writer.write(8, m.COMMAND_AMF0, 2, 0, encode_command("publish", 5, None, "two"))
    )
    reader = ChunkReader()
    reader.feed(after)
    started = 0
    with anyio.fail_after(5):
        while started < 2:
            for msg in reader.feed(await sock.receive()):
                if msg.type_id == m.COMMAND_AMF0:
                    cmd = parse_command(msg.type_id, msg.payload)
                    info = cmd.args[0] if cmd.name == "onStatus" and cmd.args else {}
                    if isinstance(info, dict) and info.get("code") == "NetStream.Publish.Start":
                        started += 1
    return sock, writer


def _payload_bytes(messages: list[tuple[int, int, bytes]]) -> int:
    """Frame payload of FLV bodies (one NAL unit per video body), sequence headers left out."""
    sizes = [len(b) - (9 if k == m.VIDEO else 2) for k, _, b in messages if b[1] != 0]
    return sum(sizes)


async def test_two_streams_of_one_connection_each_get_their_frames_in_order():
    one, two = media(40, seed=1), media(40, seed=2)
    async with running_server({}, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        sock, writer = await _publish_two(port)

        def wire(sid: int, messages: list[tuple[int, int, bytes]]) -> bytes:
            csid = {m.VIDEO: 6, m.AUDIO: 4}
            return b"".join(writer.write(csid[k] + 4 * (sid - 1), k, sid, ts, body)
                            for k, ts, body in messages)  # fmt: skip

        await sock.send(wire(1, one[:4]) + wire(2, two[:4]))
        await wait_for_stream(hw.server, "live/one", frames=2)
        await wait_for_stream(hw.server, "live/two", frames=2)
        p1, r1 = await play(port, "one")
        p2, r2 = await play(port, "two")
        for i in range(4, len(one), 5):  # each write interleaves both streams' messages
            await sock.send(
                wire(1, one[i : i + 3]) + wire(2, two[i : i + 5]) + wire(1, one[i + 3 : i + 5])
            )
        assert await read_media(p1, r1, len(one)) == one
        assert await read_media(p2, r2, len(two)) == two
        for sid, sent in (("one", one), ("two", two)):
            stats = hw.server.streams.get(f"live/{sid}").stats
            assert stats.frames_in == 80
            assert stats.bytes_in == _payload_bytes(sent)
        for s in (sock, p1, p2):
            await s.aclose()


async def test_frames_before_a_bad_message_in_the_same_read_are_published(caplog):
    caplog.set_level(logging.INFO, "headwater.rtmp")
    sent = media(3)
    bad = bytes((0x27, 1, 0, 0, 0)) + (100).to_bytes(4, "big") + b"x"  # a NAL unit cut short
    async with running_server({}, protocols=("rtmp",)) as hw:
        pub = await Publisher.connect(hw.port("rtmp"), "cam")
        for kind, timestamp, body in [*sent, (m.VIDEO, 200, bad)]:
            pub.session.send_media(kind, timestamp, body)
        await pub.sock.send(pub.session.data_to_send())  # one write: one read
        with anyio.fail_after(5):
            try:
                while await pub.sock.receive():
                    pass
            except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
                pass  # the server closed the connection
        stream = hw.server.streams.get("live/cam")
        assert stream.stats.frames_in == 6  # 3 video and 3 audio frames, then the fault
        assert stream.stats.bytes_in == _payload_bytes(sent)
    assert "NAL unit of" in caplog.text
