"""Benchmark: server CPU-seconds per GB of encrypted SRT ingest with N real-time callers.

Run: ``.venv/bin/python bench/srt_ingest.py [--callers 1 10 30] [--mbps 4] [--seconds 15]
[--pbkeylen 16] [--loss 0]``.

A real ``headwater serve`` runs in a child process with one SRT listener and a ``bench``
template whose ``srt_publish.passphrase`` encrypts every stream. Each caller is the bundled
ffmpeg (libsrt) publishing an ffmpeg-made 720p H.264 + AAC clip at about ``--mbps`` with
``-re -stream_loop -1`` (so its CPU is not the server's). After a warm-up, the server's CPU
(user + system, psutil) over the window is divided by the gigabytes it ingested (frame
bytes from the API, scaled to TS bytes by the clip's own TS/ES ratio). Also printed: RSS
per stream, whether any stream stalled (took in nothing during the window), and from the
server's log at the end the SRT loss counters (lost, recovered, dropped too late). The
load average is printed with each figure because the machine's CPU is shared.
Target (issue 5): <= 22 CPU-s/GB at N = 30 with AES-128.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import imageio_ffmpeg
import psutil

PASSPHRASE = "bench-passphrase-0123"


def make_clip(path: Path, mbps: float) -> Path:
    """A 10 s 720p H.264 + AAC transport stream at about ``mbps`` Mbit/s."""
    rate = f"{mbps}M"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
           "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10",
           "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
           "-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-g", "60", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "128k", "-f", "mpegts", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=300)
    return path


def ts_overhead(clip: Path) -> float:
    """TS bytes per frame byte of the clip."""
    from headwater.media.mpegts import TracksChanged, TSReader

    data = clip.read_bytes()
    reader = TSReader()
    frame_bytes = 0
    for e in reader.feed(data) + reader.flush():
        if not isinstance(e, TracksChanged):
            frame_bytes += sum(len(n) for n in e.nalus) or len(e.data)
    return len(data) / frame_bytes


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A free loopback port (bound and released)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stream_bytes(http: int) -> dict[str, int]:
    """Frame bytes taken in so far, per bench stream."""
    r = httpx.get(f"http://127.0.0.1:{http}/streamer/api/v3/streams?limit=1000", timeout=5)
    return {s["name"]: s["stats"]["bytes_in"] for s in r.json()["streams"]}


def measure(args, server: psutil.Process, http: int, srt: int, clip: Path, n: int, ratio: float):
    """Run ``n`` callers; measure the window after a warm-up."""
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    rss0 = server.memory_info().rss
    callers = []
    for i in range(n):
        url = (f"srt://127.0.0.1:{srt}?mode=caller&streamid=#!::r=bench/n{n}c{i},m=publish"
               f"&passphrase={PASSPHRASE}&pbkeylen={args.pbkeylen}")  # fmt: skip
        cmd = [ff, "-v", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", str(clip),
               "-c", "copy", "-f", "mpegts", url]  # fmt: skip
        callers.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    try:
        time.sleep(3 + n * 0.1)
        before = stream_bytes(http)
        cpu0 = sum(server.cpu_times()[:2])
        t0 = time.monotonic()
        time.sleep(args.seconds)
        cpu = sum(server.cpu_times()[:2]) - cpu0
        wall = time.monotonic() - t0
        after = stream_bytes(http)
        rss = server.memory_info().rss
    finally:
        for p in callers:
            p.terminate()
        for p in callers:
            p.wait(10)
    mine = [k for k in after if k.startswith(f"bench/n{n}c")]
    gained = {k: after[k] - before.get(k, 0) for k in mine}
    stalled = sum(1 for k in mine if gained[k] == 0) + (n - len(mine))
    gb = sum(gained.values()) * ratio / 1e9
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"N={n:>3}  {gb * 8e3 / wall:7.1f} Mbit/s in  server CPU {cpu / wall * 100:5.1f}%  "
          f"{cpu / gb if gb else float('nan'):6.2f} CPU-s/GB  "
          f"RSS/stream {(rss - rss0) / max(n, 1) / 1e6:5.2f} MB  stalled {stalled}  "
          f"(load {load})", flush=True)  # fmt: skip


LOSS = re.compile(r"(\d+) packets, (\d+) lost, (\d+) recovered, (\d+) dropped too late")


def main() -> None:
    """Start the server, make the clip, measure each N, then sum the loss counters."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--callers", type=int, nargs="+", default=[1, 10, 30])
    ap.add_argument("--mbps", type=float, default=4.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--pbkeylen", type=int, default=16, choices=[16, 24, 32])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.ts", args.mbps)
        ratio = ts_overhead(clip)
        http, srt = free_port(), free_port(socket.SOCK_DGRAM)
        config = Path(tmp) / "bench.toml"
        config.write_text(
            f'data_dir = "{tmp}"\n'
            f'[listeners]\nhttp = [{{ host = "127.0.0.1", port = {http} }}]\n'
            f'srt = [{{ host = "127.0.0.1", port = {srt} }}]\n'
            '[[templates]]\nname = "bench"\nprefixes = ["bench"]\n'
            'inputs = [{ url = "publish://" }]\n'
            f'srt_publish = {{ passphrase = "{PASSPHRASE}" }}\n'
        )
        log = open(Path(tmp) / "server.log", "w+")  # noqa: SIM115
        exe = Path(sys.executable).parent / "headwater"
        proc = subprocess.Popen(
            [str(exe), "serve", "--config", str(config), "--log-level", "info"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", http), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.2)
            server = psutil.Process(proc.pid)
            print(f"clip {clip.stat().st_size / 1e6:.1f} MB (10 s) per caller, "
                  f"AES-{args.pbkeylen * 8}, TS/ES {ratio:.3f}")  # fmt: skip
            for n in args.callers:
                measure(args, server, http, srt, clip, n, ratio)
                time.sleep(2)
        finally:
            proc.terminate()
            proc.wait(10)
            log.seek(0)
            totals = [0, 0, 0, 0]
            for m in LOSS.finditer(log.read()):
                totals = [t + int(v) for t, v in zip(totals, m.groups(), strict=True)]
            print(f"SRT packets {totals[0]}, lost {totals[1]}, recovered {totals[2]}, "
                  f"dropped too late {totals[3]}")  # fmt: skip


if __name__ == "__main__":
    main()
