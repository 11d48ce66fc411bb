"""End to end over RTSP with the bundled ffmpeg: publish H.264+AAC and H.265 with
ANNOUNCE/RECORD over TCP and over UDP, read the stream back over RTMP and HTTP-TS, and
compare packet by packet with the source (bytes, keyframes, pts and dts)."""

from __future__ import annotations

import anyio
import pytest
from rtsp_support import assert_audio_run, assert_same_video, by_codec

from headwater.testing import (
    read_packets,
    read_packets_async,
    run_ffmpeg,
    running_server,
    wait_for_stream,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def publish_args(clip, url: str, transport: str) -> list[str]:
    """ffmpeg publishing ``clip`` in real time to ``url`` over ``transport``."""
    return ["-re", "-i", str(clip), "-c", "copy", "-f", "rtsp", "-rtsp_transport", transport, url]


async def publish_and_read(clip, transport: str, read_proto: str, name: str = "live/cam1"):
    async with running_server(protocols=("rtsp", read_proto)) as hw:
        results = {}

        async def publisher() -> None:
            results["publish"] = await run_ffmpeg(
                publish_args(clip, hw.url("rtsp", name), transport), check=False
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(publisher)
            await wait_for_stream(hw.server, name, timeout=15)
            url = (
                hw.url(read_proto, name) if read_proto != "http" else hw.http_url(f"{name}/mpegts")
            )
            packets, header = await read_packets_async(url, timeout=30)
        stream = hw.server.streams.get(name)
    assert results["publish"].returncode == 0, results["publish"].stderr.decode()[-1500:]
    return by_codec(packets, header), stream


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_publish_h264_aac_read_back_over_rtmp(test_media, transport):
    # one GOP for the whole clip: a reader that joins at once gets every frame from the cache
    clip = test_media("h264", "aac", "flv", seconds=2.0, gop=250, size="160x120")
    got, stream = await publish_and_read(clip, transport, "rtmp")
    source = by_codec(*read_packets(clip))
    assert len(source["h264"]) == 50
    assert_same_video(got["h264"], source["h264"])
    assert_audio_run(got["aac"], source["aac"])
    assert stream.publisher["proto"] == "rtsp"
    codecs = [t["codec"] for t in stream.describe()["stats"]["media_info"]["tracks"]]
    assert codecs == ["h264", "aac"]


async def test_publish_h265_over_tcp_read_back_over_rtmp(test_media):
    clip = test_media("h265", "aac", "mp4", seconds=2.0, gop=250, size="160x120")
    got, stream = await publish_and_read(clip, "tcp", "rtmp")
    source = by_codec(*read_packets(clip))
    assert len(source["hevc"]) == 50
    assert_same_video(got["hevc"], source["hevc"])
    assert_audio_run(got["aac"], source["aac"])
    assert (stream.tracks[0].width, stream.tracks[0].height) == (160, 120)


async def test_publish_h264_over_udp_read_back_over_http_ts(test_media):
    clip = test_media("h264", "aac", "flv", seconds=2.0, gop=250, size="160x120")
    got, _ = await publish_and_read(clip, "udp", "http")
    source = by_codec(*read_packets(clip))
    assert_same_video(got["h264"], source["h264"], same_bytes=False)
    assert len(got["aac"]) >= len(source["aac"]) - 6
