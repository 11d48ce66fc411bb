"""End to end with a librtmp client (rtmpdump, the library OBS used before 30): it always does
the digest handshake and refuses a server whose S1/S2 digests are wrong, then plays. Skipped
where rtmpdump is not installed (``apt-get install rtmpdump``)."""

from __future__ import annotations

import shutil

import anyio
import pytest

from headwater.testing import read_packets, run_ffmpeg, running_server, wait_for_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_rtmpdump_plays_after_the_digest_handshake(test_media, tmp_path):
    rtmpdump = shutil.which("rtmpdump")
    if rtmpdump is None:
        pytest.skip("rtmpdump (librtmp) is not installed")
    clip = test_media("h264", "aac", "flv", seconds=2.5, gop=250)
    out = tmp_path / "dump.flv"
    async with running_server(protocols=("rtmp",)) as hw:
        url = hw.url("rtmp", "live/cam1")
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", "-f", "flv", url])
            await wait_for_stream(hw.server, "live/cam1", timeout=15)
            # -w/-x (a SWF hash and size) make librtmp use the digest handshake and check our
            # S1 and S2 digests ("Server not genuine Adobe!" otherwise)
            swf = ["-w", "00" * 32, "-x", "1000"]
            args = [rtmpdump, "-V", "--live", *swf, "--timeout", "5", "-r", url, "-o", str(out)]
            with anyio.fail_after(30):
                done = await anyio.run_process(args, check=False)
    assert b"Genuine Adobe Flash Media Server" in done.stderr  # the S2 digest checked out
    assert out.stat().st_size > 10_000, done.stderr.decode()[-500:]
    got, header = read_packets(out)
    src, src_header = read_packets(clip)

    def video(packets, head):
        return [
            (p.dts, p.pts, p.size, p.crc)
            for p in packets
            if head[f"media_type {p.stream}"] == "video"
        ]

    src_video = video(src, src_header)
    assert len(src_video) > 50
    assert video(got, header) == src_video
