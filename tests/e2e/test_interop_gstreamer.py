"""Interop with GStreamer publishers: ``rtmp2sink`` (RTMP) and ``srtsink`` (SRT, libsrt).

GStreamer is not on a fresh machine: ``.ci/run`` installs it best effort, and these tests
skip when ``gst-launch-1.0`` or an element is missing. Each publisher sends a known number
of buffers; the frames headwater publishes are counted per track through a consumer, so a
lost, duplicated or mis-keyed frame fails the test.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess

import anyio
import pytest

from headwater import Frame, Subscription, hookimpl
from headwater.testing import running_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

GST = shutil.which("gst-launch-1.0")
VIDEO_BUFFERS = 90
AUDIO_BUFFERS = 150  # 1024-sample AAC frames at the default 44.1 kHz: about 3.5 s


def has_elements(*names: str) -> bool:
    """True when gst-inspect knows every element."""
    inspect = shutil.which("gst-inspect-1.0")
    if not GST or not inspect:
        return False
    return all(
        subprocess.run([inspect, n], capture_output=True, timeout=30).returncode == 0 for n in names
    )


class FrameLog:
    """A test plugin whose consumer keeps every frame of every publication."""

    def __init__(self) -> None:
        self.frames: dict[str, list[Frame]] = {}
        self.ended = anyio.Event()

    @hookimpl
    def stream_started(self, stream):  # type: ignore[no-untyped-def]
        log = self

        class Keep:
            name = "test frame log"

            async def run(self, subscription: Subscription) -> None:
                kept = log.frames.setdefault(stream.name, [])
                async for frame in subscription:
                    kept.append(frame)
                log.ended.set()

        return [Keep()]


VIDEO = (
    f"videotestsrc num-buffers={VIDEO_BUFFERS} is-live=true "
    "! video/x-raw,width=320,height=240,framerate=30/1 "
    "! x264enc tune=zerolatency key-int-max=30 ! h264parse"
)


async def publish(pipeline: str) -> None:
    """Run a gst-launch pipeline to its end."""
    with anyio.fail_after(60):
        result = await anyio.run_process([GST, "-q", *pipeline.split()], check=False)
    assert result.returncode == 0, result.stderr.decode()[-500:]


def counts(frames: list[Frame]) -> tuple[int, int, int]:
    """(video frames, keyframes, audio frames)."""
    video = [f for f in frames if f.track.is_video]
    audio = [f for f in frames if f.track.is_audio]
    return len(video), sum(f.keyframe for f in video), len(audio)


@pytest.mark.skipif(
    not has_elements("rtmp2sink", "x264enc", "flvmux", "voaacenc"),
    reason="GStreamer with rtmp2sink, x264enc and voaacenc is not installed",
)
async def test_gstreamer_rtmp2sink_publishes_every_frame() -> None:
    log = FrameLog()
    async with running_server(extra_plugins=[log], protocols=("http", "rtmp")) as hw:
        url = hw.url("rtmp", "live/gst")
        await publish(
            f"{VIDEO} ! flvmux name=m streamable=true ! rtmp2sink location={url} "
            f"audiotestsrc num-buffers={AUDIO_BUFFERS} is-live=true ! voaacenc ! aacparse ! m."
        )
        with anyio.fail_after(10):
            await log.ended.wait()
    video, keys, audio = counts(log.frames["live/gst"])
    assert (video, keys) == (VIDEO_BUFFERS, VIDEO_BUFFERS // 30)
    assert audio >= AUDIO_BUFFERS * 0.9  # voaacenc may hold back its last partial frame
    codecs = {f.track.codec for f in log.frames["live/gst"]}
    assert codecs == {"h264", "aac"}


@pytest.mark.skipif(
    not has_elements("srtsink", "x264enc", "mpegtsmux"),
    reason="GStreamer with srtsink and x264enc is not installed",
)
async def test_gstreamer_srtsink_publishes_with_a_stream_id() -> None:
    log = FrameLog()
    async with running_server(extra_plugins=[log], protocols=("http", "srt")) as hw:
        port = hw.port("srt")
        # alignment=7: 1316-byte buffers; libsrt's live mode refuses larger messages, so
        # without it GStreamer silently loses every big (key)frame before it is sent.
        await publish(
            f"{VIDEO} ! mpegtsmux alignment=7 ! srtsink "
            f"uri=srt://127.0.0.1:{port}?streamid=%23!::r=live/gstsrt,m=publish"
        )
        with anyio.fail_after(10):
            await log.ended.wait()
    frames = log.frames["live/gstsrt"]
    video, keys, _audio = counts(frames)
    # libsrt's caller may drop what is still in its send buffer when it closes, so the last
    # few frames may never be sent; everything sent arrives, keyframes every 30.
    assert VIDEO_BUFFERS - 10 <= video <= VIDEO_BUFFERS
    assert keys == (video + 29) // 30
    assert [i for i, f in enumerate(frames) if f.keyframe] == list(range(0, video, 30))
    dts = [f.dts for f in frames if f.track.is_video]
    assert all(b - a == 3000 for a, b in itertools.pairwise(dts))
