"""Server CPU per live HLS request: the HTTP app alone, and whole requests over loopback.

A server in a child process (``python -m bench.scenarios.hls_serve serve``) publishes a
synthetic stream (25 fps H.264 with a keyframe every 2 s, 20 kB frames, AAC) in-process,
starts its HLS with one playlist request, then keeps the publication open and idle, so
that nothing but the requests measured here costs CPU. Printed, per request kind
(``index.m3u8``, ``mono.m3u8``, a 1 MB segment, a missing segment):

- ``app``: the server's ASGI app (what the HTTP listener serves) called directly with a
  fixed scope, ``--requests`` times, best of 5, ``time.process_time`` (in the child);
- ``whole``: GET over one keep-alive loopback connection from a raw-socket client in this
  process, ``--requests`` times (a quarter for segments), best of 3, the child's CPU ticks
  (uvicorn, the app and the kernel's share).

Compare two versions of the server by running this twice, the old one through
``PYTHONPATH`` (the child inherits it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from typing import Any

KINDS = ("master", "media", "segment", "missing")
CONFIG = {
    "hls": {"segment_duration": 2, "segment_count": 4, "hls_idle": 600},
    "limits": {"publish_idle_timeout": 3600},
}


async def _serve(requests: int) -> None:
    """The child: a server with one live stream holding segments; measure the app, print
    the port and the figures, then wait to be killed."""
    import anyio
    import httpx

    from headwater import Codec, Frame, MediaKind, PublishRequest, Track
    from headwater.http import app as http_app
    from headwater.testing import running_server

    sps = bytes.fromhex("6742c00bda0507ec044000000300400000030083c50aa8")
    h264 = Track(1, Codec.H264, MediaKind.VIDEO, parameter_sets=(sps, b"\x68\xce\x0f\xc8"),
                 width=320, height=240)  # fmt: skip
    aac = Track(2, Codec.AAC, MediaKind.AUDIO, config=b"\x11\x90", sample_rate=48000, channels=2)

    def frames(first: int, last: int) -> list[Frame]:
        out = []
        for i in range(first, last):
            key = i % 50 == 0
            nal = bytes([0x65 if key else 0x41]) + bytes(20_000)
            out.append(Frame(h264, i * 3600, i * 3600, key, nalus=(nal,)))
            if i % 3 == 0:
                dts = i * 3600 // 1920 * 1920
                out.append(Frame(aac, dts, dts, True, data=bytes(300)))
        return out

    publish = PublishRequest(proto="bench", path="live/cam", args={}, peer=("127.0.0.1", 1),
                             local_port=1935)  # fmt: skip
    async with (
        running_server(CONFIG, protocols=("http",)) as hw,
        httpx.AsyncClient() as http,
        hw.server.publish(publish) as pub,
    ):
        for frame in frames(0, 60):
            pub.send(frame)
        async with anyio.create_task_group() as tg:
            tg.start_soon(http.get, hw.http_url("live/cam/index.m3u8"))
            for n in range(60, 400, 10):
                for frame in frames(n, n + 10):
                    pub.send(frame)
                await anyio.sleep(0.01)
        await anyio.sleep(0.3)
        media = await http.get(hw.http_url("live/cam/mono.m3u8"))
        segment = re.findall(r"^mono-\d+\.ts$", media.text, re.M)[-1]
        paths = dict(zip(KINDS, ("index.m3u8", "mono.m3u8", segment, "mono-1.ts"), strict=True))
        build = getattr(http_app, "serving_app", http_app.build_app)
        app = build(hw.server)
        figures = {k: await _app_cost(app, f"/live/cam/{p}", requests) for k, p in paths.items()}
        print(json.dumps({"port": hw.port("http"), "paths": paths, "app": figures}), flush=True)
        await anyio.sleep(3600)


async def _app_cost(app: Any, path: str, requests: int) -> float:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8080), "extensions": {},
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(requests):
            await app(dict(scope), receive, send)
        best = min(best, (time.process_time() - start) / requests)
    return best


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(sock: socket.socket, path: str) -> tuple[int, bytes]:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, body = buf.partition(b"\r\n\r\n")
    found = re.search(rb"content-length: *(\d+)", head, re.I)
    assert found, head
    while len(body) < int(found.group(1)):
        body += sock.recv(1 << 20)
    return int(head.split()[1]), body


class HLSServe:
    """Server CPU per live HLS request (see the module)."""

    name = "hls_serve"
    summary = "live HLS serving: server CPU per playlist and segment request"
    all_argv: tuple[str, ...] = ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Requests per measurement."""
        parser.add_argument("--requests", type=int, default=1000, help="per measurement")

    def run(self, args: argparse.Namespace) -> dict[str, dict[str, float]]:
        """Print one row per request kind; return the figures (µs)."""
        print(f"\n### {self.name}: {self.summary}\n", flush=True)
        child = [sys.executable, "-m", "bench.scenarios.hls_serve", "serve", str(args.requests)]
        proc = subprocess.Popen(child, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the HLS server did not start")
            started = json.loads(line)
            whole: dict[str, float] = {}
            with socket.create_connection(("127.0.0.1", started["port"]), timeout=10) as sock:
                for kind in KINDS:
                    path = "/live/cam/" + started["paths"][kind]
                    count = args.requests // 4 if kind == "segment" else args.requests
                    best = float("inf")
                    for _ in range(3):
                        time.sleep(0.3)
                        before = _cpu(proc.pid)
                        for _ in range(count):
                            status, _body = _get(sock, path)
                        best = min(best, (_cpu(proc.pid) - before) / count)
                    assert status == (404 if kind == "missing" else 200), (kind, status)
                    whole[kind] = best
        finally:
            proc.kill()
            proc.wait(10)
        print("| request | app alone, µs | whole request, µs of server CPU |")
        print("|---|---|---|")
        figures = {"app": started["app"], "whole": whole}
        for kind in KINDS:
            app_us, whole_us = started["app"][kind] * 1e6, whole[kind] * 1e6
            print(f"| {kind} | {app_us:.1f} | {whole_us:.0f} |", flush=True)
        return {k: {kind: v * 1e6 for kind, v in f.items()} for k, f in figures.items()}


SCENARIO = HLSServe()

if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    import anyio

    anyio.run(_serve, int(sys.argv[2]), backend_options={"use_uvloop": True})
