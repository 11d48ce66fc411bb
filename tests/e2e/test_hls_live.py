"""End to end: ffmpeg publishes over RTMP or SRT; ffmpeg plays ``/NAME/index.m3u8`` back.

Video is compared on decoded pictures: every frame ffmpeg decodes from our HLS must equal,
CRC for CRC, a run of the source clip's decoded frames that starts at a keyframe and reaches
the clip's very last frame (nothing lost at the end of the publication). Audio is compared
packet by packet (the AAC payloads, ADTS headers stripped).
"""

from __future__ import annotations

import os
import subprocess

import anyio
import httpx
import pytest

from headwater.testing import ffmpeg_exe, run_ffmpeg, running_server, wait_for_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

HLS = {"hls": {"segment_duration": 1, "segment_count": 3}}


def decoded(source: str) -> tuple[list[str], list[str]]:
    """CRCs of every decoded video frame of ``source`` and of every AAC packet's payload
    (ADTS headers stripped, so TS and FLV compare)."""
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", source]
    args += ["-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framecrc", "pipe:1"]
    read, write = os.pipe()
    args += ["-map", "0:a:0", "-c:a", "copy", "-bsf:a", "aac_adtstoasc", "-f", "framecrc"]
    args += [f"pipe:{write}"]
    try:
        with subprocess.Popen(args, stdout=subprocess.PIPE, pass_fds=(write,)) as proc:
            os.close(write)
            write = -1
            with os.fdopen(read, "r") as audio_pipe:
                read = -1
                audio = audio_pipe.read()
            text = proc.stdout.read().decode() if proc.stdout else ""
            proc.wait(timeout=60)
    finally:
        for fd in (read, write):
            if fd >= 0:
                os.close(fd)
    return _crcs(text), _crcs(audio)


def _crcs(framecrc: str) -> list[str]:
    return [line.split(",")[5].strip() for line in framecrc.splitlines() if line[:1] != "#"]


async def decoded_async(source: str) -> tuple[list[str], list[str]]:
    return await anyio.to_thread.run_sync(decoded, source)


def assert_run_of(got: list[str], source: list[str], at_least: int, *, to_end: bool) -> None:
    """``got`` is a run of ``source`` (to its very end when ``to_end``), ``at_least`` long."""
    assert len(got) >= at_least, f"only {len(got)} frames came back"
    start = source.index(got[0])
    assert got == source[start : start + len(got)], "HLS frames are not a run of the source's"
    if to_end:
        assert start + len(got) == len(source), "the end of the publication is missing"


@pytest.mark.parametrize("proto", ["rtmp", "srt"])
async def test_ffmpeg_plays_live_hls_of_a_publication(test_media, proto) -> None:
    ext = "flv" if proto == "rtmp" else "ts"
    clip = test_media("h264", "aac", ext, seconds=3.0, size="160x120", gop=25)
    source_video, source_audio = decoded(str(clip))
    server = running_server(HLS, protocols=("http", proto))
    async with server as hw, anyio.create_task_group() as tg:
        if proto == "rtmp":
            url, fmt = hw.url("rtmp", "live/cam"), "flv"
        else:
            url = f"srt://127.0.0.1:{hw.port('srt')}?mode=caller&latency=120000&streamid=live/cam"
            fmt = "mpegts"
        tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", "-f", fmt, url])
        await wait_for_stream(hw.server, "live/cam", frames=5, timeout=15)
        master = hw.http_url("live/cam/index.m3u8")
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(master)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert response.headers["access-control-allow-origin"] == "*"
        assert 'CODECS="avc1.' in response.text and "mp4a.40.2" in response.text
        assert "RESOLUTION=160x120" in response.text
        with anyio.fail_after(30):
            video, audio = await decoded_async(master)
    if proto == "rtmp":
        assert_run_of(video, source_video, len(source_video) // 3, to_end=True)
        assert_run_of(audio, source_audio, len(source_audio) // 3, to_end=True)
    else:
        # ffmpeg's SRT caller closes without lingering (live mode): what it sent in its
        # last moments (its TS muxer holds audio back up to 0.7 s) may not arrive whole.
        assert_run_of(video[:-5], source_video, len(source_video) // 3, to_end=False)
        assert_run_of(audio[:-40], source_audio, len(source_audio) // 4, to_end=False)
