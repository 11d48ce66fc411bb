"""The RTSP listener passes the core's connection gate (issue 13), like RTMP and HTTP."""

from __future__ import annotations

import anyio
import pytest
from attacks import closed_within, lines

from headwater.testing import running_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_rtsp_connections_beyond_the_per_address_limit_are_refused(caplog):
    pytest.importorskip("headwater_rtsp")
    config = {"limits": {"max_connections_per_ip": 2}}
    async with running_server(config, protocols=("rtsp",)) as hw:
        port = hw.port("rtsp")
        kept = [
            await anyio.connect_tcp("127.0.0.1", port, local_host="127.0.0.2") for _ in range(2)
        ]
        extra = await anyio.connect_tcp("127.0.0.1", port, local_host="127.0.0.2")
        assert await closed_within(extra, 3) is not None
        other = await anyio.connect_tcp("127.0.0.1", port)  # another address gets in
        await other.send(b"OPTIONS rtsp://127.0.0.1/live/x RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        with anyio.fail_after(5):
            assert (await other.receive()).startswith(b"RTSP/1.0 200")
        for sock in [*kept, extra, other]:
            await sock.aclose()
        assert hw.server.connection_limits.stats()["rtsp"]["refused"] == 1
    assert lines(caplog, "rtsp 127.0.0.2:")
    assert lines(caplog, "refused: the limit of 2 connections per address is reached")
