"""Work linear in the input for the parsers a hostile client feeds byte by byte (issue 13):
counted, not timed. The RTMP chunk reader has its own tests in tests/rtmp/test_chunk_limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater_mpegts.http_publish import PROBE_BYTES, SYNC_RUN, _find_sync


class FakeTransport:
    """Just enough of an asyncio transport for the HTTP protocol (no socket)."""

    def __init__(self) -> None:
        self.written = b""
        self.closing = False
        self.reading = True

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.2", 5555), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closing = True

    abort = close

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


def http_protocol():
    """The server's HTTP protocol on a fake transport, with the default limits."""
    import asyncio

    import uvicorn
    from uvicorn.server import ServerState

    from headwater.config.models import ServerSettings
    from headwater.connection_limits import ConnectionLimits
    from headwater.http.protocol import protocol_class

    class Server:
        settings = ServerSettings()

    async def app(scope, receive, send):  # never reached: no head completes
        raise AssertionError("a request reached the application")

    loop = asyncio.new_event_loop()
    config = uvicorn.Config(app, lifespan="off", log_config=None)
    gate = ConnectionLimits(lambda: Server.settings.limits).gate("http")
    cls = protocol_class(Server, gate)
    protocol = cls(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport, loop


@pytest.mark.parametrize("step", [1, 7, 4096])
def test_regression_an_endless_head_is_refused_at_the_size_bound(step):
    """httptools sets no bound on a head and joins a header cut by reads by concatenation
    (quadratic when fed byte by byte): the protocol closes a head past MAX_HEAD_BYTES with
    431, whatever its split, after at most one read more."""
    from headwater.http.protocol import MAX_HEAD_BYTES

    protocol, transport, loop = http_protocol()
    try:
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (2 * MAX_HEAD_BYTES)
        fed = 0
        for i in range(0, len(head), step):
            if transport.closing:
                break
            protocol.data_received(head[i : i + step])
            fed += len(head[i : i + step])
        assert transport.closing
        assert transport.written.startswith(b"HTTP/1.1 431 ")
        assert MAX_HEAD_BYTES < fed <= MAX_HEAD_BYTES + step
    finally:
        protocol.connection_lost(None)
        loop.close()


def test_a_head_within_the_bound_fed_byte_by_byte_is_served():
    """A legitimate head trickled byte by byte (just under the bound) is not refused."""
    from headwater.http.protocol import MAX_HEAD_BYTES

    protocol, transport, loop = http_protocol()
    started = []
    protocol._start_asgi_task = lambda cycle, app: started.append(cycle)
    try:
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: "
        head += b"a" * (MAX_HEAD_BYTES - len(head) - 4) + b"\r\n\r\n"
        for i in range(len(head)):
            protocol.data_received(head[i : i + 1])
        assert not transport.closing and len(started) == 1
    finally:
        protocol.connection_lost(None)
        loop.close()


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=4000), st.integers(1, 500))
def test_mpegts_probe_rescans_at_most_two_packets(data, step):
    """The HTTP MPEG-TS probe keeps where its search stopped: whatever the split, only the
    last few packets' worth of bytes are looked at again."""
    buf = bytearray()
    start = 0
    for i in range(0, len(data), step):
        buf += data[i : i + step]
        found, start = _find_sync(buf, start)
        if found >= 0:
            assert all(buf[found + k * 188] == 0x47 for k in range(SYNC_RUN))
            return
        assert len(buf) - start <= (SYNC_RUN - 1) * 188 + 1


def test_mpegts_probe_finds_sync_after_garbage():
    packet = b"\x47" + bytes(187)
    buf = bytearray(b"\x47junk" * 100 + packet * SYNC_RUN)
    found, _ = _find_sync(buf, 0)
    assert found == 500
    assert PROBE_BYTES == 1 << 20


def test_regression_random_bytes_do_not_pass_for_mpegts():
    """Three sync bytes in a row turn up in about one megabyte of random bytes in sixteen
    (a flaky 'publication' of garbage); the probe wants five."""
    import random

    rng = random.Random(13)
    fooled = 0
    for _ in range(8):
        data = bytearray(rng.randbytes(PROBE_BYTES))
        fooled += _find_sync(data, 0)[0] >= 0
    assert fooled == 0
