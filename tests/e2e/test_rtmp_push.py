"""End to end push: headwater A re-publishes a stream to headwater B over RTMP (the push hook
of headwater-rtmp); a player on B gets the source's video packets exactly."""

from __future__ import annotations

import anyio
import pytest

from headwater.testing import (
    read_packets,
    read_packets_async,
    run_ffmpeg,
    running_server,
    wait_for_stream,
)
from headwater_rtmp.push import PushError, RTMPPusher, split_url

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def video_packets(packets, header):
    return [
        (p.dts, p.pts, p.size, p.crc, p.keyframe)
        for p in packets
        if header.get(f"media_type {p.stream}") == "video"
    ]


async def test_push_from_one_headwater_to_another(test_media):
    clip = test_media("h264", "aac", "flv", seconds=3, gop=250)
    async with running_server(protocols=("rtmp",)) as b:
        push_to = f"rtmp://127.0.0.1:{b.port('rtmp')}/%s"
        config = {
            "templates": [
                {
                    "name": "live",
                    "prefixes": ["live"],
                    "inputs": [{"url": "publish://"}],
                    "pushes": [{"url": push_to}],
                }
            ]
        }
        async with running_server(config, protocols=("rtmp",)) as a:
            async with anyio.create_task_group() as tg:
                publish = ["-re", "-i", str(clip), "-c", "copy", "-f", "flv"]
                tg.start_soon(run_ffmpeg, [*publish, a.url("rtmp", "live/cam1")])
                await wait_for_stream(b.server, "live/cam1", timeout=15)
                packets, header = await read_packets_async(b.url("rtmp", "live/cam1"), timeout=30)
            pushed = b.server.streams.get("live/cam1")
            assert pushed.publisher["ip"] == "127.0.0.1"
    src = video_packets(*read_packets(clip))
    got = video_packets(packets, header)
    assert len(src) > 50
    assert got == src


async def test_push_refused_raises_for_the_retry_logic(test_media):
    locked = {
        "templates": [
            {
                "name": "live",
                "prefixes": ["live"],
                "inputs": [{"url": "publish://"}],
                "password": "x",
            }
        ]
    }
    async with running_server(locked, protocols=("rtmp",)) as b:
        pusher = RTMPPusher(f"rtmp://127.0.0.1:{b.port('rtmp')}/live/cam1?password=wrong")

        class NoFrames:
            stream = None

        with pytest.raises(PushError, match="Unauthorized"):
            await pusher.run(NoFrames())  # type: ignore[arg-type]
    with pytest.raises(PushError, match="cannot connect"):
        await RTMPPusher(f"rtmp://127.0.0.1:{b.port('rtmp')}/live/x").run(NoFrames())  # type: ignore[arg-type]


def test_split_url():
    assert split_url("rtmp://cdn:1936/client43/live/cam1?k=v") == (
        "cdn", 1936, False, "client43", "live/cam1?k=v"
    )  # fmt: skip
    assert split_url("rtmps://cdn/app/x")[1:3] == (443, True)
    with pytest.raises(ValueError):
        split_url("http://x/y")
