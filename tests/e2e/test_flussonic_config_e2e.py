"""The publishing guide's own Flussonic config, served end to end: publish with the bundled
ffmpeg over RTMP with and without the passwords the config sets; ``headwater serve`` on a
Flussonic-syntax file with JSON logs."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from headwater.config.flussonic import parse_flussonic
from headwater.testing import run_ffmpeg, running_server, wait_for_stream

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from cli_process import OFF, serve, stop

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

GUIDE_CONFIG = """
# straight from the publishing guide
stream published {
  input publish://;
  password secure;
}

live chats {
  password mypass;
}

template open {
  prefix open;
  input publish://;
}
"""


def publish_args(clip: Path, url: str) -> list[str]:
    return ["-i", str(clip), "-c", "copy", "-f", "flv", url]


async def settled(stream) -> None:
    with anyio.fail_after(5):
        while stream.live:  # noqa: ASYNC110 (polling the server's state is the point)
            await anyio.sleep(0.05)


async def test_guide_config_publish_with_and_without_passwords(test_media) -> None:
    clip = test_media("h264", "aac", "flv", seconds=1)
    document = parse_flussonic(GUIDE_CONFIG).document
    async with running_server(document, protocols=("rtmp",)) as hw:
        cases = [
            ("published", False),
            ("published?password=wrong", False),
            ("published?password=secure", True),
            ("chats/my/chat-15", False),
            ("chats/my/chat-15?password=mypass", True),
            ("open/cam1", True),
        ]
        for path, accepted in cases:
            result = await run_ffmpeg(publish_args(clip, hw.url("rtmp", path)), check=False)
            name = path.partition("?")[0]
            stream = hw.server.streams.get(name)
            if not accepted:
                assert result.returncode != 0, path
                assert b"password" in result.stderr.lower(), path
                assert stream is None or stream.stats.frames_in == 0, path
                continue
            assert result.returncode == 0, (path, result.stderr[-500:])
            await settled(stream)
            assert stream.stats.frames_in > 30 and stream.stats.keyframes_in >= 1, path
        named = {s.name: s.named_by for s in hw.server.streams}
    assert named["published"] == "config" and named["chats/my/chat-15"] == "user"


def test_serve_reads_a_flussonic_file_and_logs_json(tmp_path: Path) -> None:
    config = tmp_path / "flussonic.conf"
    config.write_text(
        GUIDE_CONFIG + "stream tv {\n  input publish://;\n  transcoder vb=1000k;\n}\n"
    )
    with serve(
        tmp_path / "data", "--config", str(config), "--log-format", "json", listen=OFF
    ) as child:
        child.wait_for(r'"message": "headwater is running')
        port = int(child.wait_for(r"http listening on 127\.0\.0\.1:(\d+)").group(1))
        doc = httpx.get(f"http://127.0.0.1:{port}/streamer/api/v3/config", timeout=5).json()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as garbage:
            garbage.sendall(b"NOT HTTP AT ALL\r\n\r\n")  # uvicorn warns about it
            garbage.recv(1024)
        child.wait_for(r"Invalid HTTP request")
        assert stop(child) == 0
        output = child.rest()
    assert [s["name"] for s in doc["streams"]] == ["published", "tv"]
    assert [t["name"] for t in doc["templates"]] == ["chats", "open"]
    assert doc["templates"][0]["password"] == "mypass"
    logs = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    warnings = [e for e in logs if e["level"] == "warning" and "transcoder" in e["message"]]
    assert warnings and "line 18, column 3" in warnings[0]["message"], output
    assert all({"ts", "level", "logger", "message"} <= set(e) for e in logs)
    # uvicorn's own records come out as JSON too, not in uvicorn's format
    assert any(e["logger"].startswith("uvicorn") for e in logs), output
    assert not [line for line in output.splitlines() if "Invalid HTTP" in line and line[0] != "{"]


async def test_a_streams_own_srt_port_names_its_publishers(test_media) -> None:
    """``srt PORT;`` inside a stream: a caller without a stream id on that port publishes
    to the stream (Flussonic's per-stream SRT port)."""
    clip = test_media("h264", "aac", "ts", seconds=2)
    document = parse_flussonic(
        "stream mysrt {\n  input publish://;\n  srt 127.0.0.1:0;\n}\n"
    ).document
    async with running_server(document, protocols=("srt",)) as hw:
        url = f"srt://127.0.0.1:{hw.port('srt')}?mode=caller&latency=120000"
        args = ["-re", "-i", str(clip), "-c", "copy", "-f", "mpegts", url]
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ffmpeg, args)
            await wait_for_stream(hw.server, "mysrt", timeout=15, frames=10)
            # while it publishes, the API shows SRT's live counters under stats.input
            live = hw.server.streams.get("mysrt").describe()["stats"]["input"]
            assert live["proto"] == "srt" and live["srt_packets"] > 0
            assert live["srt_rtt"] >= 0 and "srt_lost" in live
        stream = hw.server.streams.get("mysrt")
        await settled(stream)
        assert stream.stats.frames_in > 30 and stream.publisher["proto"] == "srt"
