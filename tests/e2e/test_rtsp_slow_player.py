"""End to end: an RTSP player that stops reading costs the publisher nothing. Its frames
are dropped up to the next keyframe (the core's rule), and once it has blocked our writes
for ``send_timeout`` it is disconnected; the publisher's every frame is taken in."""

from __future__ import annotations

import socket

import anyio
import pytest

from headwater.testing import read_packets, run_ffmpeg, running_server, wait_for_stream
from headwater_rtsp.wire.message import Headers, MessageReader, Request, Response

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def stalled_player(port: int, path: str) -> tuple[socket.socket, int]:
    """DESCRIBE, SETUP (TCP), PLAY with a tiny receive buffer, then never read again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    await anyio.to_thread.run_sync(sock.connect, ("127.0.0.1", port))
    url = f"rtsp://127.0.0.1:{port}/{path}"
    reader = MessageReader(max_body_bytes=1 << 20)
    session = ""
    got = 0
    for cseq, (method, target, extra) in enumerate(
        [
            ("DESCRIBE", url, []),
            ("SETUP", url + "/trackID=0", [("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")]),
            ("PLAY", url, []),
        ],
        start=1,
    ):
        headers = Headers([("CSeq", str(cseq)), *extra])
        if session:
            headers["Session"] = session
        await anyio.to_thread.run_sync(sock.sendall, Request(method, target, headers).to_bytes())
        while True:
            data = await anyio.to_thread.run_sync(sock.recv, 65536)
            got += len(data)
            responses = [e for e in reader.feed(data) if isinstance(e, Response)]
            if responses:
                assert responses[0].status == 200, (method, responses[0])
                session = responses[0].headers.get("Session", session).split(";")[0]
                break
    return sock, got


async def test_a_stalled_player_is_dropped_never_the_publisher(test_media):
    # lossless noise: megabytes of video, far more than the socket buffers hold
    clip = test_media("h264", None, "flv", seconds=3.0, gop=25, size="320x240",
                      extra=("-vf", "noise=alls=60:allf=t", "-qp", "0"))  # fmt: skip
    assert clip.stat().st_size > 8_000_000
    source, _ = read_packets(clip)
    config = {"limits": {"queue_frames": 16}, "rtsp": {"send_timeout": 1.0, "describe_wait": 0}}
    async with running_server(config, protocols=("rtsp", "rtmp")) as hw:
        url = hw.url("rtmp", "live/big")
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", "-f", "flv", url])
            await wait_for_stream(hw.server, "live/big", timeout=15)
            sock, _ = await stalled_player(hw.port("rtsp"), "live/big")
            stream = hw.server.streams.get("live/big")
            with anyio.fail_after(15):
                while stream.live:  # noqa: ASYNC110 (the stream has no "ended" event)
                    await anyio.sleep(0.1)
        info = stream.describe()["stats"]
        closed = await anyio.to_thread.run_sync(drained, sock)
    assert stream.stats.frames_in == len(source)  # the publisher lost nothing
    assert info["drops"] > 0  # the player did
    assert closed  # and was disconnected


def drained(sock: socket.socket) -> bool:
    """Read what is left; True when the server closed the connection."""
    try:
        while sock.recv(1 << 20):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()
