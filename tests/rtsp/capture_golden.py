"""Make the golden RTSP captures under ``tests/data/rtsp/`` (run once, by hand; the files
are committed): a real publisher talks to a real server through a relay that records every
byte the publisher sent, so the captures hold real requests and interleaved RTP.

    .venv/bin/python tests/rtsp/capture_golden.py

ffmpeg (the ``imageio-ffmpeg`` one) publishes 0.6 s of 160x120 H.264 + AAC; GStreamer's
``rtspclientsink`` (when installed) 12 frames of H.264 and some AAC.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import anyio

from headwater.testing import make_media, run_ffmpeg, running_server

OUT = Path(__file__).resolve().parent.parent / "data" / "rtsp"


async def relay(target: int, sink: bytearray, *, task_status) -> None:
    """Accept one client, forward both ways, keep what the client sent."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    task_status.started(listener.extra(anyio.abc.SocketAttribute.local_port))

    async def handle(client) -> None:
        async with client, await anyio.connect_tcp("127.0.0.1", target) as server:

            async def up() -> None:
                async for chunk in client:
                    sink.extend(chunk)
                    await server.send(chunk)
                await server.send_eof()

            async def down() -> None:
                async for chunk in server:
                    await client.send(chunk)

            async with anyio.create_task_group() as tg:
                tg.start_soon(up)
                tg.start_soon(down)

    await listener.serve(handle)


async def capture(name: str, command: list[str]) -> None:
    sink = bytearray()
    async with running_server(protocols=("rtsp",)) as hw, anyio.create_task_group() as tg:
        port = await tg.start(relay, hw.port("rtsp"), sink)
        url = f"rtsp://127.0.0.1:{port}/live/golden"
        cmd = [c.replace("URL", url) for c in command]
        if cmd[0] == "ffmpeg":
            await run_ffmpeg(cmd[1:])
        else:
            await anyio.run_process(cmd)
        await anyio.sleep(0.5)
        tg.cancel_scope.cancel()
    (OUT / name).write_bytes(bytes(sink))
    print(f"{name}: {len(sink)} bytes")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_media(Path(tmp) / "clip.flv", seconds=0.6, size="160x120", gop=10)
        await capture(
            "ffmpeg-h264-aac-tcp.bin",
            ["ffmpeg", "-i", str(clip), "-c", "copy", "-f", "rtsp", "-rtsp_transport", "tcp",
             "URL"],
        )  # fmt: skip
    if shutil.which("gst-launch-1.0"):
        await capture(
            "gstreamer-h264-aac-tcp.bin",
            ["gst-launch-1.0", "-q", "rtspclientsink", "name=s", "location=URL", "protocols=tcp",
             "videotestsrc", "num-buffers=12", "!", "video/x-raw,width=160,height=120,"
             "framerate=25/1", "!", "x264enc", "tune=zerolatency", "key-int-max=10", "!",
             "h264parse", "!", "s.", "audiotestsrc", "num-buffers=12", "!", "voaacenc", "!",
             "aacparse", "!", "s."],
        )  # fmt: skip


if __name__ == "__main__":
    anyio.run(main)
