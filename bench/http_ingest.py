"""Benchmark: server CPU-seconds per GB of HTTP MPEG-TS ingest with N real-time publishers.

Run: ``.venv/bin/python bench/http_ingest.py [--publishers 1 10 30] [--mbps 4] [--seconds 15]``.

A real ``headwater serve`` runs in a child process (HTTP on a free loopback port, the
default ``live`` template). Publishers are raw asyncio TCP clients in *this* process (so
their CPU is not counted): each sends a chunked ``POST /live/benchK/mpegts`` of an
ffmpeg-made TS clip at ``--mbps``, looping, paced in real time, 64 KiB per chunk. The
server's CPU (user + system, from psutil) over the measuring window is divided by the
bytes sent. The machine's load average is printed with each figure because the CPU is
shared. Target (issue 4): <= 10 CPU-s/GB at N = 30.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import psutil

CHUNK = 64 * 1024


def make_clip(path: Path, mbps: float) -> bytes:
    """A 10 s 720p H.264 + AAC clip at about ``mbps`` Mbit/s."""
    rate = f"{mbps}M"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
           "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10",
           "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
           "-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-g", "60", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "128k", "-f", "mpegts", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=300)
    return path.read_bytes()


def free_port() -> int:
    """A free loopback TCP port (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def publisher(
    port: int, name: str, clip: bytes, mbps: float, stop: float, sent: list[int]
) -> None:
    """One chunked POST, paced at ``mbps``, until ``stop`` (monotonic)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /live/{name}/mpegts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Transfer-Encoding: chunked\r\nContent-Type: video/mp2t\r\n\r\n".encode()
    )
    interval = CHUNK * 8 / (mbps * 1e6)
    start = time.monotonic()
    pos = 0
    n = 0
    while time.monotonic() < stop:
        chunk = clip[pos : pos + CHUNK]
        pos = (pos + CHUNK) % (len(clip) - len(clip) % 188)
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        sent[0] += len(chunk)
        n += 1
        delay = start + n * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    await asyncio.wait_for(reader.read(1024), 10)
    writer.close()


async def measure(
    port: int, server: psutil.Process, clip: bytes, n: int, mbps: float, seconds: float
) -> None:
    """Run ``n`` publishers; measure the middle of the run (after a 2 s warm-up)."""
    sent = [0]
    stop = time.monotonic() + seconds + 2
    tasks = [
        asyncio.create_task(publisher(port, f"bench{n}x{i}", clip, mbps, stop, sent))
        for i in range(n)
    ]
    await asyncio.sleep(2)
    cpu0 = sum(server.cpu_times()[:2])
    bytes0 = sent[0]
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    cpu = sum(server.cpu_times()[:2]) - cpu0
    gb = (sent[0] - bytes0) / 1e9
    wall = time.monotonic() - t0
    await asyncio.gather(*tasks)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"N={n:>3}  {gb * 8e3 / wall:7.1f} Mbit/s in  server CPU {cpu / wall * 100:5.1f}%  "
          f"{cpu / gb:6.2f} CPU-s/GB  (load {load})", flush=True)  # fmt: skip


def main() -> None:
    """Start the server, make the clip, measure each N."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--publishers", type=int, nargs="+", default=[1, 10, 30])
    ap.add_argument("--mbps", type=float, default=4.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.ts", args.mbps)
        port = free_port()
        exe = Path(sys.executable).parent / "headwater"
        proc = subprocess.Popen(
            [str(exe), "serve", "--data-dir", tmp, "--log-level", "warning",
             "-l", f"http=127.0.0.1:{port}", "-l", "rtmp=off", "-l", "rtsp=off", "-l", "srt=off"],
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.2)
            server = psutil.Process(proc.pid)
            print(f"clip {len(clip) / 1e6:.1f} MB at {args.mbps} Mbit/s per publisher")
            for n in args.publishers:
                asyncio.run(measure(port, server, clip, n, args.mbps, args.seconds))
                time.sleep(1)
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
