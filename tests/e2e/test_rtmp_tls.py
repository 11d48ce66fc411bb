"""End to end RTMPS: a TLS listener from ``listeners.rtmps = [{port, cert, key}]``; ffmpeg
publishes over TLS and the packets arrive intact, on asyncio and on uvloop (what ``headwater
serve`` runs); a client that does not speak TLS is closed and the listener carries on."""

from __future__ import annotations

import shutil
import subprocess

import anyio
import pytest

from headwater.testing import read_packets, run_ffmpeg, running_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture
def anyio_backend(asyncio_and_uvloop):
    return asyncio_and_uvloop  # both event loops (tests/conftest.py)


@pytest.fixture
def certificate(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_publish_over_rtmps(test_media, certificate):
    cert, key = certificate
    clip = test_media("h264", "aac", "flv", seconds=1)
    listener = {"host": "127.0.0.1", "port": 0, "cert": str(cert), "key": str(key)}
    config = {
        "listeners": {"rtmps": [listener]},
        "templates": [{"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}]}],
    }
    async with running_server(config) as hw:
        async with await anyio.connect_tcp("127.0.0.1", hw.port("rtmps")) as plain:
            await plain.send(b"\x03" + bytes(1536))  # RTMP, not a TLS ClientHello
            with anyio.fail_after(5):
                try:
                    while await plain.receive():
                        pass
                except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                    pass  # closed by the server
        url = f"rtmps://127.0.0.1:{hw.port('rtmps')}/live/secure"
        publish = ["-i", str(clip), "-c", "copy", "-f", "flv", "-ca_file", str(cert), url]
        done = await run_ffmpeg(publish, timeout=30, check=False)
        assert done.returncode == 0, done.stderr.decode()[-800:]
        src, _ = read_packets(clip)
        stream = hw.server.streams.get("live/secure")
        assert stream is not None
        with anyio.fail_after(5):  # the server reads in batches: let it take the last one
            while stream.live:  # noqa: ASYNC110 (polling the server's state is the point)
                await anyio.sleep(0.05)
        assert stream.stats.frames_in == len(src)
