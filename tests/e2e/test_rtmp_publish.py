"""End to end over RTMP with the bundled ffmpeg: publish H.264+AAC and HEVC (Enhanced RTMP
``hvc1``) clips, play them back over RTMP, compare the packet lists (stream, dts, pts, size,
CRC, keyframe flag) with the source's."""

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

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def by_stream(packets, header):
    """Packets grouped by codec name (ffmpeg numbers streams in the order it finds them)."""
    out: dict[str, list] = {}
    for p in packets:
        codec = header.get(f"codec_id {p.stream}", str(p.stream))
        out.setdefault(codec, []).append((p.dts, p.pts, p.size, p.crc, p.keyframe))
    return out


def assert_same_media(got: dict, source: dict) -> None:
    """Video identical packet for packet; audio a suffix of the source's (a player joins at
    the cached keyframe, so audio sent before it may be missing)."""
    assert got.keys() == source.keys()
    for codec, packets in source.items():
        ours = got[codec]
        if codec in ("h264", "hevc"):
            assert ours == packets, codec
        else:
            assert len(ours) >= len(packets) - 3, codec
            assert ours == packets[len(packets) - len(ours) :], codec


async def publish_and_play(clip, path: str, config=None):
    async with running_server(config, protocols=("rtmp",)) as hw:
        url = hw.url("rtmp", path)
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", "-f", "flv", url])
            await wait_for_stream(hw.server, path.partition("?")[0], timeout=15)
            packets, header = await read_packets_async(url.partition("?")[0], timeout=30)
        stream = hw.server.streams.get(path.partition("?")[0])
        return packets, header, stream


@pytest.mark.parametrize(("video", "codec"), [("h264", "h264"), ("h265", "hevc")])
async def test_publish_and_play_back_identical_packets(test_media, video, codec):
    # one GOP for the whole clip: a player that joins at once gets every frame from the cache
    clip = test_media(video, "aac", "flv", seconds=2.5, gop=250)
    packets, header, stream = await publish_and_play(clip, "live/cam1")
    src_packets, src_header = read_packets(clip)
    got, source = by_stream(packets, header), by_stream(src_packets, src_header)
    assert len(source[codec]) > 50
    assert_same_media(got, source)
    assert stream.stats.frames_in == len(src_packets)  # every frame reached the core
    assert stream.metadata.get("width") == 320  # onMetaData kept in the stream info
