"""The RTSP listener passes the core's connection gate (issue 13), like RTMP and HTTP."""

from __future__ import annotations

import anyio
import pytest
from attacks import closed_within, good_publisher, lines, quiet_info

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


async def slow_request(port: int, results: list) -> None:
    """A slowloris: an RTSP request head dripped a byte every 20 ms, never finished."""
    sock = await anyio.connect_tcp("127.0.0.1", port)
    start = anyio.current_time()
    try:
        with anyio.fail_after(8):
            await sock.send(b"OPTIONS rtsp://127.0.0.1/live/x RTSP/1.0\r\nCSeq: 1\r\nX-Pad: ")
            while True:
                await sock.send(b"a")
                await anyio.sleep(0.02)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError, OSError):
        results.append(anyio.current_time() - start)
    except TimeoutError:
        results.append(None)
    finally:
        await sock.aclose()


async def test_regression_slow_request_is_closed_at_its_deadline(test_media, caplog):
    """Bytes alone extend nothing: a request whose head is still coming ``message_timeout``
    after its first byte is closed (one log line), while a real ffmpeg RTSP publisher beside
    it loses no frame."""
    pytest.importorskip("headwater_rtsp")
    quiet_info(caplog)
    clip = test_media("h264", None, "flv", seconds=3.0, gop=25, size="160x120")
    config = {"limits": {"message_timeout": 1.5}}
    async with running_server(config, protocols=("rtsp",)) as hw:
        port = hw.port("rtsp")
        output = ("-f", "rtsp", "-rtsp_transport", "tcp")
        url = hw.url("rtsp", "live/good")
        async with good_publisher(hw.server, url, "live/good", clip, output):
            results: list = []
            async with anyio.create_task_group() as tg:
                for _ in range(2):
                    tg.start_soon(slow_request, port, results)
        assert len(results) == 2 and all(r is not None and r < 1.5 + 1.5 for r in results)
        assert all(r > 1.0 for r in results), results  # not before the deadline
        closes = lines(caplog, "a request was still unfinished 1.5s after its first byte")
        assert len(closes) == 2 and all(c.startswith("rtsp 127.0.0.1:") for c in closes)
        assert hw.server.buffers.held == 0  # their bytes went back to the budget


async def test_regression_forged_log_line_in_an_rtsp_url_is_escaped(caplog):
    """A URL with a newline and escape codes reaches the log as one escaped, cut line."""
    pytest.importorskip("headwater_rtsp")
    quiet_info(caplog)
    forged = "x\x1b[2J\x0b" + "y" * 400
    async with running_server(protocols=("rtsp",)) as hw:
        sock = await anyio.connect_tcp("127.0.0.1", hw.port("rtsp"))
        request = f"PLAY rtsp://127.0.0.1/live/{forged} RTSP/1.0\r\nCSeq: 1\r\n\r\n"
        await sock.send(request.encode())
        with anyio.fail_after(5):
            assert (await sock.receive()).startswith(b"RTSP/1.0 4")
        await sock.aclose()
    found = lines(caplog, "PLAY 'rtsp://127.0.0.1/live/x\\x1b[2J")
    assert len(found) == 1, [r.getMessage() for r in caplog.records]
    assert "\x1b" not in found[0] and "(cut, " in found[0]


async def body_hoarder(port: int, results: list) -> None:
    """Announce a 60 KiB body, send all of it but the last byte, and wait."""
    sock = await anyio.connect_tcp("127.0.0.1", port)
    body = 60 << 10
    head = f"ANNOUNCE rtsp://127.0.0.1/live/h RTSP/1.0\r\nCSeq: 1\r\nContent-Length: {body}\r\n"
    try:
        await sock.send(head.encode() + b"Content-Type: application/sdp\r\n\r\n")
        await sock.send(bytes(body - 1))
        results.append(await closed_within(sock, 6))
    except (anyio.BrokenResourceError, ConnectionError, OSError):
        results.append(0.0)
    finally:
        await sock.aclose()


async def test_regression_unfinished_rtsp_bodies_are_bounded_server_wide(test_media, caplog):
    """Hoarded request bodies count against ``max_buffered_bytes``: past it the oldest
    hoarder is evicted (503), never the publisher whose frames complete at once."""
    pytest.importorskip("headwater_rtsp")
    quiet_info(caplog)
    clip = test_media("h264", None, "flv", seconds=3.0, gop=25, size="160x120")
    budget = 256 << 10
    config = {"limits": {"max_buffered_bytes": budget, "message_timeout": 4}}
    async with running_server(config, protocols=("rtsp",)) as hw:
        port = hw.port("rtsp")
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, hw.server.buffers.held)
                await anyio.sleep(0.01)

        output = ("-f", "rtsp", "-rtsp_transport", "tcp")
        url = hw.url("rtsp", "live/good")
        async with good_publisher(hw.server, url, "live/good", clip, output):
            results: list = []
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                async with anyio.create_task_group() as attackers:
                    for _ in range(8):  # 8 x 60 KiB: about twice the budget
                        attackers.start_soon(body_hoarder, port, results)
                tg.cancel_scope.cancel()
        assert len(results) == 8 and all(r is not None for r in results), results
        assert peak <= budget
        evicted = lines(caplog, "bytes for unfinished messages was reached and this connection")
        assert len(evicted) >= 3 and all(e.startswith("rtsp 127.0.0.1:") for e in evicted)
        assert hw.server.buffers.held == 0
