"""Hostile RTMP clients against the real server, beside a real ffmpeg publisher (issue 13)."""

from __future__ import annotations

import anyio
import pytest
from attacks import (
    Usage,
    closed_within,
    good_publisher,
    huge_message_header,
    lines,
    publish_commands,
    quiet_info,
    rtmp_handshaken,
)

from headwater.log_text import LogFormatter
from headwater.testing import run_ffmpeg, running_server
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_writer import ChunkWriter

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

FAST = {"limits": {"message_timeout": 2, "publish_idle_timeout": 3}}


async def slow_sender(port: int, results: list) -> None:
    """Issue 13 attack 1: a 16 MiB message announced, then 1 KiB every 5 ms."""
    sock = await rtmp_handshaken(port)
    await sock.send(huge_message_header())
    start = anyio.current_time()
    try:
        with anyio.fail_after(10):
            while True:
                await sock.send(bytes(1024))
                await anyio.sleep(0.005)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError, OSError):
        results.append(anyio.current_time() - start)
    except TimeoutError:
        results.append(None)
    finally:
        await sock.aclose()


async def test_regression_slow_message_sender_is_closed_at_its_deadline(test_media, caplog):
    quiet_info(caplog)
    clip = test_media("h264", "aac", "flv", seconds=4)
    async with running_server(FAST, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        async with good_publisher(hw.server, hw.url("rtmp", "live/good"), "live/good", clip):
            usage = Usage()
            results: list = []
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(slow_sender, port, results)
            cpu, _rss = usage.since()
        assert len(results) == 3 and all(r is not None and r < 2 + 2.5 for r in results), results
        assert cpu < 2.5, f"{cpu:.2f} CPU-s for three slow senders over ~3 s"
        closes = lines(caplog, "a message was still unfinished 2s after it began")
        assert len(closes) == 3 and all(c.startswith("rtmp 127.0.0.1:") for c in closes)
        assert hw.server.buffers.held == 0  # their memory went back when they closed


async def hoarder(port: int, size: int, results: list) -> None:
    """Issue 13 attack 5: hold a big unfinished message and never finish it."""
    sock = await rtmp_handshaken(port)
    await sock.send(huge_message_header())
    try:
        for _ in range(size // 65536):
            await sock.send(bytes(65536))
        results.append(await closed_within(sock, 6))
    except (anyio.BrokenResourceError, ConnectionError, OSError):
        results.append(0.0)
    finally:
        await sock.aclose()


async def test_regression_unfinished_messages_are_bounded_server_wide(test_media, caplog):
    quiet_info(caplog)
    clip = test_media("h264", "aac", "flv", seconds=3)
    budget = 8 << 20
    config = {"limits": {"max_buffered_bytes": budget, "message_timeout": 3}}
    async with running_server(config, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, hw.server.buffers.held)
                await anyio.sleep(0.01)

        async with good_publisher(hw.server, hw.url("rtmp", "live/good"), "live/good", clip):
            usage = Usage()
            results: list = []
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                async with anyio.create_task_group() as attackers:
                    for _ in range(8):  # 8 x 3 MiB: three times the budget
                        attackers.start_soon(hoarder, port, 3 << 20, results)
                tg.cancel_scope.cancel()
            _cpu, rss = usage.since()
        assert all(r is not None for r in results)  # every hoarder was closed
        assert peak <= budget + (1 << 20)  # a read or two past the check at most
        assert rss < 64 << 20, f"RSS grew {rss >> 20} MiB"
        assert lines(caplog, "bytes for unfinished messages was reached and this connection")
        assert hw.server.buffers.held == 0


async def test_regression_forged_log_line_in_a_name_is_escaped(caplog):
    """Issue 13 attack 3: a newline and a timestamp in a stream name; NUL and ESC; 4 MiB."""
    forged = "cam\n2026-11-29 10:00:00,000 INFO    headwater.server: live/x: publishing\x00\x1b[2J"
    async with running_server(protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        for name in (forged, "y" * (4 << 20)):
            sock = await rtmp_handshaken(port)
            await sock.send(publish_commands("live", name, chunk_size=0xFFFFFF))
            assert await closed_within(sock, 5) is not None  # refused, then closed
            await sock.aclose()
    refusals = lines(caplog, "refused rtmp publish")
    assert len(refusals) == 2
    for line in refusals:
        assert "\n" not in line and "\x00" not in line and "\x1b" not in line
        assert len(line) < 1000
    assert "'live/cam\\n2026-11-29 10:00:00,000 INFO" in refusals[0]
    assert "... (cut, 4194309 characters)" in refusals[1]
    assert "is 4194309 bytes long, longer than 255 bytes" in refusals[1]
    formatted = LogFormatter().format(caplog.records[-1])
    assert len(formatted.splitlines()) == 1


async def test_a_publisher_sending_bytes_but_no_frames_is_closed(caplog):
    quiet_info(caplog)
    async with running_server(FAST, protocols=("rtmp",)) as hw:
        sock = await rtmp_handshaken(hw.port("rtmp"))
        await sock.send(publish_commands("live", "empty"))
        w = ChunkWriter()
        ping = m.user_control(m.PING_REQUEST, 1)

        async def chatter() -> None:
            while True:  # control messages only: bytes, but never a frame
                await sock.send(w.write(2, m.USER_CONTROL, 0, 0, ping))
                await anyio.sleep(0.1)

        async with anyio.create_task_group() as tg:
            tg.start_soon(chatter)
            took = await closed_within(sock, 8)
            tg.cancel_scope.cancel()
        await sock.aclose()
        assert took is not None and took < 3 + 2
        assert lines(caplog, "live/empty: stopping publisher 127.0.0.1: no data for 3s")


async def test_a_client_that_never_publishes_is_closed_whatever_it_sends(caplog):
    quiet_info(caplog)
    async with running_server(FAST, protocols=("rtmp",)) as hw:
        sock = await rtmp_handshaken(hw.port("rtmp"))
        w = ChunkWriter()
        ping = m.user_control(m.PING_REQUEST, 1)

        async def chatter() -> None:
            while True:
                await sock.send(w.write(2, m.USER_CONTROL, 0, 0, ping))
                await anyio.sleep(0.1)

        async with anyio.create_task_group() as tg:
            tg.start_soon(chatter)
            took = await closed_within(sock, 8)
            tg.cancel_scope.cancel()
        await sock.aclose()
        assert took is not None and took < 3 + 2
        assert lines(caplog, "idle for 3s without publishing or playing")


async def test_regression_a_double_slash_is_refused_over_rtmp_as_over_http(test_media):
    clip = test_media("h264", "aac", "flv", seconds=1)
    async with running_server(protocols=("rtmp",)) as hw:
        url = f"rtmp://127.0.0.1:{hw.port('rtmp')}/live//a"
        args = ["-i", str(clip), "-c", "copy", "-f", "flv", url]
        result = await run_ffmpeg(args, check=False)
        assert result.returncode != 0
        assert b"empty path segment" in result.stderr
        assert hw.server.streams.get("live/a") is None
