"""The long soak of issue 13: hostile clients of every kind churning against a real
``headwater serve`` while good publishers publish over RTMP, SRT and HTTP MPEG-TS.

Every ``--interval`` seconds it prints the server's RSS, CPU share, bytes held for
unfinished messages and open connections; at the end, each good stream's frames against
what its publisher sent, and whether any good publisher was dropped. By hand, not in CI::

    python -m bench.soak                       # 10 minutes, 50 hostile clients, 10 good
    python -m bench.soak --minutes 2 --hostile 20 --good 4

Hostile kinds, round robin over the ``--hostile`` clients, each reconnecting when closed:
RTMP slow message, RTMP hoarder, RTMP garbage, RTMP forged name, HTTP slowloris, HTTP idle,
HTTP garbage MPEG-TS, unauthenticated API PUT, SRT garbage datagrams.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import anyio
import imageio_ffmpeg

from bench.harness.clips import clip
from bench.harness.server import ServerProcess
from bench.hostile import huge_header, publish_commands, rtmp_handshaken, until_closed

TEMPLATE = 'name = "soak"\nprefixes = ["soak", "evil"]\ninputs = [{ url = "publish://" }]'
SECTIONS = '[edit_auth]\nlogin = "admin"\npassword = "secret"\n'
FPS = 30


async def _quietly(coro) -> None:
    with contextlib.suppress(Exception):
        await coro


async def rtmp_slow(server: ServerProcess) -> None:
    sock = await rtmp_handshaken(server.port("rtmp"))
    await sock.send(huge_header())
    with anyio.fail_after(60):
        while True:
            await sock.send(bytes(1024))
            await anyio.sleep(0.005)


async def rtmp_hoard(server: ServerProcess) -> None:
    sock = await rtmp_handshaken(server.port("rtmp"))
    await sock.send(huge_header())
    for _ in range(64):
        await sock.send(bytes(65536))
    await until_closed(sock, 60)


async def rtmp_garbage(server: ServerProcess) -> None:
    sock = await rtmp_handshaken(server.port("rtmp"))
    await sock.send(os.urandom(4096))
    await until_closed(sock, 30)


async def rtmp_forged(server: ServerProcess) -> None:
    sock = await rtmp_handshaken(server.port("rtmp"))
    await sock.send(publish_commands("evil", "x\n2026-11-29 00:00:00,000 INFO forged\x1b[2J"))
    await until_closed(sock, 30)


async def http_slowloris(server: ServerProcess) -> None:
    sock = await anyio.connect_tcp("127.0.0.1", server.port("http"))
    await sock.send(b"GET / HTTP/1.1\r\n")
    with anyio.fail_after(60):
        while True:
            await sock.send(b"X")
            await anyio.sleep(1)


async def http_idle(server: ServerProcess) -> None:
    sock = await anyio.connect_tcp("127.0.0.1", server.port("http"))
    await until_closed(sock, 60)


async def http_garbage_ts(server: ServerProcess) -> None:
    sock = await anyio.connect_tcp("127.0.0.1", server.port("http"))
    body = os.urandom(2 << 20)
    head = f"POST /evil/ts/mpegts HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    await sock.send(head.encode() + body)
    await until_closed(sock, 30)


async def api_put(server: ServerProcess) -> None:
    sock = await anyio.connect_tcp("127.0.0.1", server.port("http"))
    head = "PUT /streamer/api/v3/config HTTP/1.1\r\nHost: x\r\nContent-Length: 5242880\r\n\r\n"
    await sock.send(head.encode())
    for _ in range(80):
        await sock.send(bytes(65536))
    await until_closed(sock, 30)


async def srt_garbage(server: ServerProcess) -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _ in range(500):
            udp.sendto(os.urandom(random.randrange(16, 1400)), ("127.0.0.1", server.port("srt")))
            await anyio.sleep(0.002)
    finally:
        udp.close()


KINDS = [
    rtmp_slow,
    rtmp_hoard,
    rtmp_garbage,
    rtmp_forged,
    http_slowloris,
    http_idle,
    http_garbage_ts,
    api_put,
    srt_garbage,
]


def good_commands(server: ServerProcess, n: int, seconds: float, flv: Path, ts: Path):
    """(name, ffmpeg command) of ``n`` good publishers: RTMP, SRT and HTTP in turn."""
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    out = []
    for i in range(n):
        kind = ("rtmp", "srt", "http")[i % 3]
        name = f"soak/{kind}{i}"
        head = [ff, "-v", "error", "-nostdin", "-re", "-stream_loop", "-1"]
        if kind == "rtmp":
            src, dst = flv, ["-f", "flv", f"rtmp://127.0.0.1:{server.port('rtmp')}/{name}"]
        elif kind == "srt":
            url = f"srt://127.0.0.1:{server.port('srt')}?streamid=#!::r={name},m=publish"
            src, dst = ts, ["-f", "mpegts", url]
        else:
            src, dst = ts, ["-f", "mpegts", f"http://127.0.0.1:{server.port('http')}/{name}/mpegts"]
        out.append((name, [*head, "-i", str(src), "-t", f"{seconds:g}", "-c", "copy", *dst]))
    return out


def liveness(server: ServerProcess) -> dict:
    url = f"http://127.0.0.1:{server.port('http')}/streamer/api/v3/monitoring/liveness"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except Exception as exc:
        return {"error": type(exc).__name__}


async def attack(server: ServerProcess, args: argparse.Namespace, stop: float) -> dict:
    """Churn the hostile clients and print the server's figures until ``stop``."""
    counts = dict.fromkeys((k.__name__ for k in KINDS), 0)
    t0, cpu0 = time.monotonic(), server.cpu_seconds()

    async def churn(i: int) -> None:
        kind = KINDS[i % len(KINDS)]
        while time.monotonic() < stop:
            with anyio.move_on_after(max(0.0, stop - time.monotonic())):
                await _quietly(kind(server))
            counts[kind.__name__] += 1
            await anyio.sleep(0.2)

    async def report() -> None:
        cpu_prev, t_prev = cpu0, t0
        while time.monotonic() < stop:
            await anyio.sleep(args.interval)
            cpu, now = server.cpu_seconds(), time.monotonic()
            live = await anyio.to_thread.run_sync(liveness, server)
            conns = {k: v.get("open") for k, v in live.get("connections", {}).items()}
            print(
                f"{now - t0:6.0f}s rss {server.rss() >> 20:5d} MiB  "
                f"cpu {100 * (cpu - cpu_prev) / (now - t_prev):5.1f}%  "
                f"held {live.get('buffered_bytes', 0) >> 20:4d} MiB  open {conns}  "
                f"live {live.get('live_streams')}",
                flush=True,
            )
            cpu_prev, t_prev = cpu, now

    async with anyio.create_task_group() as tg:
        tg.start_soon(report)
        for i in range(args.hostile):
            tg.start_soon(churn, i)
    return counts


def soak(args: argparse.Namespace) -> int:
    """Run the soak; 1 when a good publisher lost frames or was dropped."""
    seconds = args.minutes * 60
    flv = clip("flv", mbps=1.0, size="640x360", seconds=10)
    ts = clip("mpegts", mbps=1.0, size="640x360", seconds=10)
    with ServerProcess(TEMPLATE, ["rtmp", "http", "srt"], SECTIONS) as server:
        goods = good_commands(server, args.good, seconds, flv, ts)
        procs = [subprocess.Popen(cmd, stderr=subprocess.DEVNULL) for _, cmd in goods]
        cpu0 = server.cpu_seconds()
        counts = anyio.run(attack, server, args, time.monotonic() + seconds)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        time.sleep(2)
        stats = server.streams("soak/")
        log = server.log()
        print(f"server CPU {server.cpu_seconds() - cpu0:.0f} s over {seconds:.0f} s")
        print("hostile clients run: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        failed = 0
        for name, _ in goods:
            frames = stats.get(name, {}).get("frames_in", 0)
            expected = seconds * (FPS + 48000 / 1024)
            dropped = log.count(f"{name}: publisher ")
            ok = frames >= 0.9 * expected and dropped <= 1
            failed += not ok
            print(
                f"{name:<14} frames {frames:7d} of ~{expected:7.0f}  "
                f"publisher left {dropped}x  {'ok' if ok else 'FAILED'}"
            )
        lines = log.splitlines()
        forged = [line for line in lines if "forged" in line]
        escaped = [line for line in forged if "\\n2026-11-29 00:00:00,000 INFO forged" in line]
        fakes = [line for line in lines if line.startswith("2026-11-29 00:00:00,000")]
        print(
            f"log: {len(lines)} lines; {len(forged)} carry the forged name, {len(escaped)} of "
            f"them escaped; {len(fakes)} forged lines"
        )
        return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--hostile", type=int, default=50)
    parser.add_argument("--good", type=int, default=10)
    parser.add_argument("--interval", type=float, default=30.0)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    return soak(args)


if __name__ == "__main__":
    sys.exit(main())
