"""End to end refusals over RTMP with the bundled ffmpeg: a wrong password is refused with
``NetStream.Publish.Unauthorized`` before anything is published, the right one is accepted;
a second publisher on a live name is refused while the first carries on; garbage from one
client closes only that client."""

from __future__ import annotations

import anyio
import pytest

from headwater.testing import run_ffmpeg, running_server, wait_for_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

LOCKED = {
    "templates": [
        {"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}], "password": "s3"}
    ]
}


def publish_args(clip, url: str, realtime: bool = False) -> list[str]:
    return [*(["-re"] if realtime else []), "-i", str(clip), "-c", "copy", "-f", "flv", url]


async def test_wrong_password_refused_right_one_accepted(test_media, caplog):
    clip = test_media("h264", "aac", "flv", seconds=1)
    async with running_server(LOCKED, protocols=("rtmp",)) as hw:
        wrong = await run_ffmpeg(
            publish_args(clip, hw.url("rtmp", "live/cam1?password=nope")), check=False
        )
        assert wrong.returncode != 0
        assert b"password" in wrong.stderr.lower()  # the refusal's reason reached the client
        stream = hw.server.streams.get("live/cam1")
        assert stream is None or stream.stats.frames_in == 0
        right = await run_ffmpeg(publish_args(clip, hw.url("rtmp", "live/cam1?password=s3")))
        assert right.returncode == 0
        stream = hw.server.streams.get("live/cam1")
        with anyio.fail_after(5):  # the server reads in batches: let it take the last one
            while stream.live:  # noqa: ASYNC110 (polling the server's state is the point)
                await anyio.sleep(0.05)
        assert stream.stats.frames_in > 30
    assert any("refused rtmp publish" in r.getMessage() for r in caplog.records)


async def test_second_publisher_on_a_live_name_is_refused(test_media):
    clip = test_media("h264", "aac", "flv", seconds=3)
    async with running_server(protocols=("rtmp",)) as hw:
        url = hw.url("rtmp", "live/busy")
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ffmpeg, publish_args(clip, url, realtime=True))
            await wait_for_stream(hw.server, "live/busy", timeout=15, frames=10)
            stream = hw.server.streams.get("live/busy")
            before = stream.stats.frames_in
            second = await run_ffmpeg(publish_args(clip, url), check=False)
            assert second.returncode != 0
            assert b"already being published" in second.stderr
            await anyio.sleep(0.5)
            assert stream.live and stream.stats.frames_in > before  # the first one carries on


async def test_garbage_closes_only_that_client(test_media):
    clip = test_media("h264", "aac", "flv", seconds=2)
    async with running_server(protocols=("rtmp",)) as hw, anyio.create_task_group() as tg:
        tg.start_soon(run_ffmpeg, publish_args(clip, hw.url("rtmp", "live/ok"), realtime=True))
        await wait_for_stream(hw.server, "live/ok", timeout=15)
        for junk in (b"GET / HTTP/1.1\r\n\r\n", b"\x03" + bytes(1536 * 2) + b"\xff" * 300):
            async with await anyio.connect_tcp("127.0.0.1", hw.port("rtmp")) as sock:
                await sock.send(junk)
                with anyio.fail_after(5):
                    try:
                        while await sock.receive():
                            pass
                    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                        pass  # the server closed this client
        frames = hw.server.streams.get("live/ok").stats.frames_in
        await anyio.sleep(0.3)
        assert hw.server.streams.get("live/ok").stats.frames_in > frames


async def test_handshake_and_idle_timeouts_close_the_client():
    config = {
        "templates": [{"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}]}],
        "limits": {"handshake_timeout": 0.5, "publish_idle_timeout": 0.8},
    }
    async with running_server(config, protocols=("rtmp",)) as hw:
        port = hw.port("rtmp")
        for opening in (b"\x03", b"\x03" + bytes(1536 * 2)):  # half a handshake; a silent client
            async with await anyio.connect_tcp("127.0.0.1", port) as sock:
                await sock.send(opening)
                start = anyio.current_time()
                with anyio.fail_after(5):
                    try:
                        while await sock.receive():
                            pass
                    except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                        pass
                assert 0.4 < anyio.current_time() - start < 3
