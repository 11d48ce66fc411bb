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


async def test_play_over_rtmp_a_stream_published_over_http_mpegts(test_media):
    """Any protocol in, RTMP out: TS frames (Annex B, 90 kHz, in-band parameter sets) become
    FLV messages ffmpeg reads with the same pts/dts (to the millisecond) and keyframes."""
    clip = test_media("h264", "aac", "ts", seconds=2.5, gop=250)
    async with running_server(protocols=("http", "rtmp")) as hw, anyio.create_task_group() as tg:
        publish = ["-re", "-i", str(clip), "-c", "copy", "-f", "mpegts"]
        tg.start_soon(run_ffmpeg, [*publish, hw.http_url("live/ts/mpegts")])
        await wait_for_stream(hw.server, "live/ts", timeout=15)
        packets, header = await read_packets_async(hw.url("rtmp", "live/ts"), timeout=30)
    src_packets, src_header = read_packets(clip)
    got, source = by_stream(packets, header), by_stream(src_packets, src_header)
    assert header["codec_id 0"] == "h264"
    ours = [(dts, pts, key) for dts, pts, _size, _crc, key in got["h264"]]
    num, den = map(int, src_header["tb 0"].split("/"))  # the TS source counts in 1/90000 s
    theirs = [
        (dts * num * 1000 // den, pts * num * 1000 // den, key)
        for dts, pts, _size, _crc, key in source["h264"]
    ]
    assert len(ours) == len(theirs) > 50
    shifts = [(a[0] - b[0], a[1] - b[1]) for a, b in zip(ours, theirs, strict=True)]
    flat = [x for pair in shifts for x in pair]
    assert max(flat) - min(flat) <= 1  # one constant offset, give or take the ms rounding
    assert [k for *_, k in ours] == [k for *_, k in theirs]
    assert len(got["aac"]) >= len(source["aac"]) - 3
