"""The RTSP connection with a real server and a hand-driven client: what a client sends
while its request is being decided waits in a bounded queue (reading stops beyond it), and
a client that sends bytes that are not RTSP gets a 400 and is closed, alone."""

from __future__ import annotations

import anyio
import pytest

from headwater.testing import running_server
from headwater_rtsp import connection
from headwater_rtsp.wire.message import Headers, MessageReader, Request, Response, interleaved

pytestmark = pytest.mark.anyio

SDP = (
    b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\n"
    b"m=audio 0 RTP/AVP 0\r\na=control:trackID=0\r\n"
)
CONFIG = {
    "templates": [
        {
            "name": "slow",
            "prefixes": ["slow"],
            "inputs": [{"url": "publish://"}],
            "on_publish": {"url": "python:slow_handlers:slow_allow"},
        }
    ]
}


async def test_what_follows_a_pending_request_is_queued_with_a_bound(monkeypatch):
    monkeypatch.setattr(connection, "QUEUE_HIGH", 200)
    async with running_server(CONFIG, protocols=("rtsp",)) as hw:
        port = hw.port("rtsp")
        url = f"rtsp://127.0.0.1:{port}/slow/cam"
        (listener,) = hw.server.listeners.of("rtsp")
        async with await anyio.connect_tcp("127.0.0.1", port) as tcp:
            headers = Headers([("CSeq", "1"), ("Content-Type", "application/sdp")])
            await tcp.send(Request("ANNOUNCE", url, headers, SDP).to_bytes())
            flood = interleaved(5, bytes(1000)) * 50
            peak = 0
            with anyio.move_on_after(0.6):  # the handler decides after 1 s
                while True:
                    await tcp.send(flood)
                    (conn,) = listener.clients.connections
                    peak = max(peak, conn._queued)
            (conn,) = listener.clients.connections
            assert conn._queue_full and 200 < peak <= 200 + 2000  # one read's worth over
            reader = MessageReader()
            with anyio.fail_after(5):
                while not (got := [e for e in reader.feed(await tcp.receive()) if e]):
                    pass
            assert isinstance(got[0], Response) and got[0].status == 200
            with anyio.fail_after(5):
                while conn._queued:  # noqa: ASYNC110 (draining the queue has no event)
                    await anyio.sleep(0.05)
            assert not conn._queue_full


async def test_garbage_gets_400_and_closes_that_client_only():
    async with running_server(protocols=("rtsp",)) as hw:
        port = hw.port("rtsp")
        async with await anyio.connect_tcp("127.0.0.1", port) as good:
            async with await anyio.connect_tcp("127.0.0.1", port) as bad:
                await bad.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                with anyio.fail_after(5):
                    data = b""
                    with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
                        while True:
                            data += await bad.receive()
                assert data.startswith(b"RTSP/1.0 505 ")
            await good.send(b"OPTIONS * RTSP/1.0\r\nCSeq: 7\r\n\r\n")
            with anyio.fail_after(5):
                answer = await good.receive()
            assert answer.startswith(b"RTSP/1.0 200 OK\r\nCSeq: 7\r\n")
