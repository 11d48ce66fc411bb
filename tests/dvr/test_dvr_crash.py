"""Crash safety with the real server process: ``kill -9`` in the middle of a recording, start
again, and the archive holds everything up to (at most a second before) the kill, with the
interrupted segment recovered and indexed; a publisher killed mid-GOP leaves an archive
that plays to its last frame."""

from __future__ import annotations

import importlib.util
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from headwater.testing import ffmpeg_exe, read_packets
from headwater_dvr.index import INDEX_FILE

pytestmark = [pytest.mark.e2e]


def _load_cli_process():
    """tests/core/cli_process.py (runs ``headwater serve`` as a child), shared, not copied."""
    if "cli_process" in sys.modules:
        return sys.modules["cli_process"]
    spec = importlib.util.spec_from_file_location(
        "cli_process", Path(__file__).parents[1] / "core" / "cli_process.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["cli_process"] = module
    spec.loader.exec_module(module)
    return module


cli_process = _load_cli_process()

LISTEN = ("rtmp=127.0.0.1:0", "rtsp=off", "srt=off")


def listening(child, proto: str) -> int:
    """The port ``proto`` bound, from the server's output (a minute's patience on a busy CI)."""
    line = child.wait_for(rf"^{proto} listening on 127\.0\.0\.1:(\d+)$", timeout=60)
    return int(line.group(1))


def write_config(tmp_path: Path, root: Path) -> Path:
    config = tmp_path / "headwater.toml"
    config.write_text(
        "[[templates]]\n"
        'name = "rec"\n'
        'prefixes = ["rec"]\n'
        'inputs = [{ url = "publish://" }]\n'
        f'dvr = {{ root = "{root}", segment_duration = 2 }}\n'
    )
    return config


def start_publisher(clip: Path, port: int, name: str) -> subprocess.Popen[bytes]:
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-re"]
    args += ["-i", str(clip), "-c", "copy", "-f", "flv", f"rtmp://127.0.0.1:{port}/{name}"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def part_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.part"))


def index_rows(root: Path) -> list[tuple]:
    db = sqlite3.connect(root / INDEX_FILE)
    try:
        return db.execute(
            "SELECT start_ms, duration_ms, bytes, path, complete FROM segments ORDER BY start_ms"
        ).fetchall()
    finally:
        db.close()


def test_kill_9_mid_write_then_restart_recovers_the_last_segment(test_media, tmp_path) -> None:
    clip = test_media("h264", "aac", "flv", seconds=6, gop=25)
    root = tmp_path / "dvr"
    config = write_config(tmp_path, root)
    data = tmp_path / "data"
    with cli_process.serve(data, "--config", str(config), listen=LISTEN) as child:
        port = listening(child, "rtmp")
        publisher = start_publisher(clip, port, "rec/crash")
        try:
            # mid-write: the second segment is being written and has bytes on disk
            wait_until(lambda: len(list(root.rglob("*.ts"))) >= 1 and part_files(root))
            wait_until(lambda: part_files(root)[0].stat().st_size > 20_000)
            time.sleep(0.5)
            http_port = listening(child, "http")
            api = f"http://127.0.0.1:{http_port}/streamer/api/v3/streams/rec/crash"
            received = httpx.get(api).json()["stats"]["frames_in"]  # just before the kill
            child.process.send_signal(signal.SIGKILL)
            killed_at = time.time()
            child.process.wait(10)
        finally:
            publisher.kill()
            publisher.wait(10)
    left = part_files(root)
    assert len(left) == 1, "the interrupted segment is still a .part file"
    assert [r[4] for r in index_rows(root)][-1] == 0, "its row says it was being written"

    with cli_process.serve(data, "--config", str(config), listen=LISTEN) as child:
        http = listening(child, "http")
        child.wait_for(r"recovered .*rec/crash/", timeout=60)
        base = f"http://127.0.0.1:{http}"
        ranges = httpx.get(f"{base}/streamer/api/v3/streams/rec/crash/dvr/ranges").json()
        rows = index_rows(root)
        assert not part_files(root), "recovered and renamed"
        assert all(r[4] == 1 for r in rows)
        end_ms = rows[-1][0] + rows[-1][1]
        # at most a second was lost before the kill (plus the ms rounding of the clock)
        assert killed_at * 1000 - end_ms <= 1100, (killed_at, rows)
        assert sum(r[2] for r in rows) == sum((root / r[3]).stat().st_size for r in rows)
        (rng,) = ranges["ranges"]
        download = f"{base}/rec/crash/archive-{rng['from']}-{rng['duration']}.ts"
        packets, header = read_packets(download)
        cli_process.stop(child)
    # frames the server had received a moment before the kill, less at most one second
    # (25 video + 47 AAC frames) are in the archive
    assert len(packets) >= received - 72, (len(packets), received)
    video = [p for p in packets if header[f"codec_id {p.stream}"] == "h264"]
    src, src_header = read_packets(clip)
    src_video = [p for p in src if src_header[f"codec_id {p.stream}"] == "h264"]
    recorded_s = (end_ms - rows[0][0]) / 1000
    assert video[0].keyframe
    assert len(video) >= int((recorded_s - 0.2) * 25)
    assert [p.keyframe for p in video] == [p.keyframe for p in src_video[: len(video)]]


def test_publisher_killed_mid_gop_leaves_a_playable_archive(test_media, tmp_path) -> None:
    clip = test_media("h264", "aac", "flv", seconds=6, gop=100)  # 4 s GOPs
    root = tmp_path / "dvr"
    config = write_config(tmp_path, root)
    with cli_process.serve(tmp_path / "data", "--config", str(config), listen=LISTEN) as child:
        port = listening(child, "rtmp")
        publisher = start_publisher(clip, port, "rec/cut")
        wait_until(lambda: part_files(root) and part_files(root)[0].stat().st_size > 30_000)
        publisher.send_signal(signal.SIGKILL)  # in the middle of the first 4 s GOP
        publisher.wait(10)
        child.wait_for(r"rec/cut: recording stopped", timeout=60)
        http = listening(child, "http")
        base = f"http://127.0.0.1:{http}"
        (rng,) = httpx.get(f"{base}/streamer/api/v3/streams/rec/cut/dvr/ranges").json()["ranges"]
        packets, header = read_packets(f"{base}/rec/cut/archive-{rng['from']}-{rng['duration']}.ts")
        rows = index_rows(root)
        cli_process.stop(child)
    assert not part_files(root) and len(rows) == 1 and rows[0][4] == 1
    video = [p for p in packets if header[f"codec_id {p.stream}"] == "h264"]
    src, src_header = read_packets(clip)
    src_video = [p for p in src if src_header[f"codec_id {p.stream}"] == "h264"]
    assert 10 < len(video) < len(src_video)
    ours = [(ms(p.pts, header) - ms(video[0].pts, header), p.keyframe) for p in video]
    theirs = [
        (ms(p.pts, src_header) - ms(src_video[0].pts, src_header), p.keyframe) for p in src_video
    ]
    assert [k for _, k in ours] == [k for _, k in theirs[: len(ours)]]
    assert all(abs(a[0] - b[0]) <= 1 for a, b in zip(ours, theirs, strict=False))


def ms(pts: int, header: dict[str, str]) -> int:
    """A timestamp of video stream 0 in milliseconds (framecrc's ``tb 0`` time base)."""
    num, den = map(int, header["tb 0"].split("/"))
    return pts * num * 1000 // den
