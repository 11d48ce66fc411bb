"""The HTTP server's ``headwater.body_sink`` extension: a route takes the rest of a request
body off ASGI and gets each read's bytes, joined once, then the end or the client's leaving.

No sockets: the real connection class (uvicorn's httptools protocol with headwater's
limits) is fed the wire bytes split in many ways through a transport that records what
it is asked; a real ASGI app registers the sink. What the sink got must be the body, byte
for byte, in one call per read.
"""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from uvicorn.config import Config
from uvicorn.server import ServerState

from headwater.http.body_tap import BODY_ENDED, BODY_SINK, CLIENT_LEFT, TAP_BOUND, BodyTap
from headwater.http.protocol import protocol_class

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"  # uvicorn's protocols run on asyncio only


class Transport:
    """Records writes and the reading state; closing calls ``connection_lost``."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.paused = False
        self.closed = False
        self.protocol = None

    def get_extra_info(self, name: str, default=None):
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    abort = close

    def set_write_buffer_limits(self, *args, **kwargs) -> None:
        pass


class Sink:
    """A body sink that keeps every call."""

    def __init__(self) -> None:
        self.reads: list[bytes] = []
        self.ended: str | None = None
        self.done = asyncio.Event()

    def body_received(self, data: bytes) -> None:
        assert self.ended is None, "no bytes after the end"
        self.reads.append(data)

    def body_ended(self, reason: str) -> None:
        assert self.ended is None, "the end comes once"
        self.ended = reason
        self.done.set()


def make_app(sink: Sink, receive_first: bool, taps: list[BodyTap]):
    async def app(scope, receive, send):
        if receive_first:  # as the publish route's probe does
            message = await receive()
            sink.reads.append(message["body"])
        taps.append(scope["extensions"][BODY_SINK](sink))
        await sink.done.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": sink.ended.encode()})

    return app


def connection(app) -> tuple[object, Transport]:
    limits = SimpleNamespace(keepalive_timeout=5.0, header_timeout=5.0)
    server = SimpleNamespace(settings=SimpleNamespace(limits=limits))
    gate = SimpleNamespace(admit=lambda ip, port: True, release=lambda ip: None)
    cls = protocol_class(server, gate)  # type: ignore[arg-type]
    config = Config(app=app, http=cls, lifespan="off", log_config=None)
    protocol = cls(config, ServerState(), {}, asyncio.get_running_loop())
    transport = Transport()
    transport.protocol = protocol
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


HEAD = b"POST /live/x/mpegts HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunked(body: bytes, sizes: list[int]) -> bytes:
    out, pos = [], 0
    for size in itertools.cycle(sizes):
        if pos >= len(body):
            break
        piece = body[pos : pos + size]
        out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        pos += size
    return b"".join(out) + b"0\r\n\r\n"


def cut(wire: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for size in itertools.cycle(sizes):
        if pos >= len(wire):
            return out
        out.append(wire[pos : pos + size])
        pos += size
    return out


async def run(reads: list[bytes], receive_first: bool, leave_after: int | None = None):
    """Feed ``reads`` one ``data_received`` each (yielding to the app after the first two);
    the client leaves after ``leave_after`` reads when given."""
    sink, taps = Sink(), []
    protocol, transport = connection(make_app(sink, receive_first, taps))
    for i, data in enumerate(reads):
        if leave_after is not None and i == leave_after:
            protocol.connection_lost(None)
            break
        protocol.data_received(data)
        if i < 2:
            for _ in range(5):
                await asyncio.sleep(0)
    await asyncio.wait_for(sink.done.wait(), 5)
    for _ in range(5):
        await asyncio.sleep(0)
    return sink, taps, transport


BODY = bytes(range(256)) * 97  # 24,832 bytes


@pytest.mark.parametrize(
    ("chunk_sizes", "read_sizes", "receive_first"),
    [
        ([1316], [100_000], False),  # one read: head and whole body
        ([1316], [len(HEAD), 5000], False),
        ([7, 1316, 3000], [1, 2, 3, 500], True),  # byte-wise framing, the probe reads first
        ([24_832], [len(HEAD) + 3, 9], True),
        ([188] * 3 + [64_000], [len(HEAD), 4096, 1], False),
    ],
)
async def test_the_sink_gets_the_body_read_by_read_then_its_end(
    chunk_sizes, read_sizes, receive_first
) -> None:
    wire = HEAD + chunked(BODY, chunk_sizes)
    reads = cut(wire, read_sizes)
    sink, taps, transport = await run(reads, receive_first)
    assert b"".join(sink.reads) == BODY
    assert sink.ended == BODY_ENDED
    assert not taps[0].attached  # released at the end
    # one call per read that carried body bytes, plus what came before the sink
    assert len(sink.reads) <= len(reads) + 1
    assert transport.written.startswith(b"HTTP/1.1 200")
    assert b"\r\nbody ended\r\n" in transport.written


@settings(max_examples=40, deadline=None)
@given(
    chunk_sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=5),
    read_sizes=st.lists(st.integers(1, 9000), min_size=1, max_size=5),
    receive_first=st.booleans(),
)
def test_any_framing_and_any_reads_give_the_body_whole(chunk_sizes, read_sizes, receive_first):
    wire = HEAD + chunked(BODY, chunk_sizes)

    async def main():
        sink, _, _ = await run(cut(wire, read_sizes), receive_first)
        assert b"".join(sink.reads) == BODY and sink.ended == BODY_ENDED

    asyncio.run(main())


async def test_a_client_that_leaves_mid_body_is_told_once() -> None:
    wire = HEAD + chunked(BODY, [1000])
    reads = cut(wire, [len(HEAD), 3000])
    sink, taps, _ = await run(reads, receive_first=False, leave_after=4)
    got = b"".join(sink.reads)
    assert sink.ended == CLIENT_LEFT and BODY.startswith(got) and len(got) > 0
    assert not taps[0].attached


async def test_a_body_already_over_is_ended_at_once_and_the_tap_comes_back_released() -> None:
    wire = HEAD + chunked(BODY, [4096])
    sink, taps, _ = await run([wire], receive_first=True)
    assert b"".join(sink.reads) == BODY and sink.ended == BODY_ENDED
    assert not taps[0].attached


async def test_bytes_held_above_the_high_water_mark_resume_reading() -> None:
    """Reads that piled up (and paused reading) while the route was busy before it took the
    body go to the sink first, and reading resumes."""
    body = bytes(200_000)
    wire = HEAD + chunked(body, [1316])
    sink, taps = Sink(), []
    started = asyncio.Event()

    async def app(scope, receive, send):
        message = await receive()
        sink.reads.append(message["body"])
        await started.wait()  # busy (authorizing) while more reads come
        taps.append(scope["extensions"][BODY_SINK](sink))
        await sink.done.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    protocol, transport = connection(app)
    first = len(HEAD) + 2000
    reads = [wire[:first], *cut(wire[first:], [50_000])]
    protocol.data_received(reads[0])
    for _ in range(5):
        await asyncio.sleep(0)
    for data in reads[1:3]:
        protocol.data_received(data)
    assert transport.paused  # above uvicorn's 64 KiB mark
    started.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not transport.paused
    for data in reads[3:]:
        protocol.data_received(data)
    await asyncio.wait_for(sink.done.wait(), 5)
    assert b"".join(sink.reads) == body and sink.ended == BODY_ENDED


async def test_a_read_above_the_bound_is_handed_over_in_parts() -> None:
    body = bytes(3 * TAP_BOUND)
    wire = HEAD + chunked(body, [65_536])
    sink, _, _ = await run([wire[: len(HEAD) + 10], wire[len(HEAD) + 10 :]], False)
    assert b"".join(sink.reads) == body
    assert max(len(r) for r in sink.reads) <= TAP_BOUND + 65_536


async def test_the_tap_pauses_and_resumes_reading_and_release_gives_the_body_back() -> None:
    wire = HEAD + chunked(BODY, [1000])
    sink, taps = Sink(), []
    rest = asyncio.Event()
    tail = bytearray()

    async def app(scope, receive, send):
        tap = scope["extensions"][BODY_SINK](sink)
        taps.append(tap)
        await rest.wait()
        tap.release()  # the rest of the body through receive() again
        while True:
            message = await receive()
            tail.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    protocol, transport = connection(app)
    reads = cut(wire, [len(HEAD), 5000])
    protocol.data_received(reads[0])
    for _ in range(5):
        await asyncio.sleep(0)
    protocol.data_received(reads[1])
    tap = taps[0]
    tap.pause_reading()
    assert transport.paused
    tap.resume_reading()
    assert not transport.paused
    rest.set()
    for _ in range(5):
        await asyncio.sleep(0)
    for data in reads[2:]:
        protocol.data_received(data)
    for _ in range(20):
        await asyncio.sleep(0)
    assert bytes(b"".join(sink.reads) + tail) == BODY
    assert sink.ended is None  # released: the sink hears no more
    assert transport.written.startswith(b"HTTP/1.1 200")


async def test_a_sink_that_raises_closes_its_connection_only(caplog) -> None:
    class Failing(Sink):
        def body_received(self, data: bytes) -> None:
            raise RuntimeError("broken sink")

    sink, taps = Failing(), []
    protocol, transport = connection(make_app(sink, False, taps))
    wire = HEAD + chunked(BODY, [1000])
    protocol.data_received(wire[: len(HEAD)])
    for _ in range(5):
        await asyncio.sleep(0)
    protocol.data_received(wire[len(HEAD) : len(HEAD) + 3000])
    assert transport.closed
    await asyncio.wait_for(sink.done.wait(), 5)
    assert sink.ended == CLIENT_LEFT
    assert any("the request body's sink failed" in r.getMessage() for r in caplog.records)


async def test_a_read_of_framing_only_is_handed_over_empty() -> None:
    """A read that brought only a chunk's size line is one call with b"" (a sink that
    paces its reads pauses after it too); a read of body bytes is one call with them."""
    sink, taps = Sink(), []
    protocol, _ = connection(make_app(sink, False, taps))
    protocol.data_received(HEAD)
    for _ in range(5):
        await asyncio.sleep(0)
    for data in [b"10\r\n", b"0123456789abcdef\r\n5", b"\r\nxyzzy", b"\r\n", b"0\r\n\r\n"]:
        protocol.data_received(data)
    await asyncio.wait_for(sink.done.wait(), 5)
    assert sink.reads == [b"", b"0123456789abcdef", b"xyzzy", b""]
    assert sink.ended == BODY_ENDED
