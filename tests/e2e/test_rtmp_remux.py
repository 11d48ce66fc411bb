"""ffmpeg remuxing MPEG-TS to RTMP (``-i clip.ts -c copy -f flv rtmp://...``).

A real-world case: restreamers pull TS and push RTMP without transcoding. ffmpeg then sends
an empty AAC sequence header before the real one; it must be skipped, not refused.
"""

from __future__ import annotations

import anyio
import pytest

from headwater.testing import read_packets, run_ffmpeg, running_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_ts_remuxed_to_rtmp_is_published_whole(test_media) -> None:
    clip = test_media("h264", "aac", "ts", seconds=3, container="mpegts")
    source, header = read_packets(clip)
    audio_index = next(
        k.split()[1] for k, v in header.items() if k.startswith("codec_id") and v == "aac"
    )
    source_audio = sum(1 for p in source if str(p.stream) == audio_index)
    source_video = len(source) - source_audio
    async with running_server(protocols=("http", "rtmp")) as hw:
        await run_ffmpeg(["-i", str(clip), "-c", "copy", "-f", "flv", hw.url("rtmp", "live/remux")])
        stream = hw.server.streams.get("live/remux")
        assert stream is not None
        with anyio.fail_after(10):  # ffmpeg is gone; the server may still be reading
            while True:
                if not stream.live:
                    break
                await anyio.sleep(0.05)
        tracks = {t.codec: t for t in stream.tracks}
        assert set(tracks) == {"h264", "aac"}
        assert (tracks["aac"].sample_rate, tracks["aac"].channels) == (48000, 2)
        assert stream.stats.frames_in == source_video + source_audio
        assert stream.stats.keyframes_in >= 3
