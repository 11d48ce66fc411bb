"""End to end: ffmpeg plays ``rtsp://`` (DESCRIBE/SETUP/PLAY over TCP and UDP) a stream
published over RTMP or RTSP; what it reads is compared packet by packet with the source."""

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


def assert_same_sizes(got, source) -> None:
    """Annex B out (4-byte start codes) is as long as the source's 4-byte length prefixes;
    keyframes carry the parameter sets in front, so they are longer by exactly those."""
    assert [p.size for p in got if not p.keyframe] == [p.size for p in source if not p.keyframe]
    extra = {a.size - b.size for a, b in zip(got, source, strict=True) if a.keyframe}
    assert len(extra) == 1 and 0 <= extra.pop() < 200


async def publish_and_play(clip, publish: list[str], proto: str, transport: str):
    async with running_server(protocols=("rtsp", "rtmp")) as hw:
        url = hw.url(proto, "live/cam1")
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", *publish, url])
            await wait_for_stream(hw.server, "live/cam1", timeout=15)
            packets, header = await read_packets_async(
                hw.url("rtsp", "live/cam1"),
                timeout=30,
                input_args=["-rtsp_transport", transport],
            )
        consumers = hw.server.streams.get("live/cam1").dropped_total
    return by_codec(packets, header), header, consumers


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_play_a_stream_published_over_rtmp(test_media, transport):
    clip = test_media("h264", "aac", "flv", seconds=2.0, gop=250, size="160x120")
    got, header, dropped = await publish_and_play(clip, ["-f", "flv"], "rtmp", transport)
    source = by_codec(*read_packets(clip))
    assert header["codec_id 0"] == "h264" and header["dimensions 0"] == "160x120"
    # ffmpeg derives its own dts from RTP; pts must line up, keyframes too
    assert_same_video(got["h264"], source["h264"], same_bytes=False, check_dts=False)
    assert_same_sizes(got["h264"], source["h264"])
    assert_audio_run(got["aac"], source["aac"])
    assert dropped == 0


async def test_play_a_stream_published_over_rtsp(test_media):
    clip = test_media("h265", "aac", "mp4", seconds=2.0, gop=250, size="160x120")
    publish = ["-f", "rtsp", "-rtsp_transport", "tcp"]
    got, header, _ = await publish_and_play(clip, publish, "rtsp", "tcp")
    assert header["codec_id 0"] == "hevc"
    source = by_codec(*read_packets(clip))
    assert_same_video(got["hevc"], source["hevc"], same_bytes=False, check_dts=False)
    assert_same_sizes(got["hevc"], source["hevc"])
    assert_audio_run(got["aac"], source["aac"], missing=8)
