"""Benchmark: server CPU-seconds per GB of RTMP ingest with N real-time publishers, each watched
by one RTMP player.

Run: ``.venv/bin/python bench/rtmp_ingest.py [--publishers 1 10 30 60] [--mbps 4] [--seconds 15]``

A real ``headwater serve`` runs in a child process (RTMP and HTTP on free loopback ports, the
default ``live`` template). Publishers and players are asyncio clients in *this* process
(their CPU is not counted): a publisher does the real handshake/connect/publish exchange
with headwater's own client session, then sends the chunked FLV messages of an
ffmpeg-made 720p H.264 + AAC clip, one write per message when its timestamp is due (as
``ffmpeg -re`` does).
A player connects, plays ``live/benchK`` and reads everything. Over the measuring window
the server's CPU (user + system, psutil) is divided by the bytes the publishers sent; RSS
per stream is the growth of the server's RSS over its idle size, divided by N. "connected"
says whether every publisher and player was still there at the end. The load average is
printed with each line because the 2 cores are shared. Target (issue 3): <= 7 CPU-s/GB
and <= 3 MB per stream at N = 60.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import imageio_ffmpeg
import psutil

from headwater.media.flv import FlvReader, FlvTag
from headwater_rtmp import events as ev
from headwater_rtmp.client_session import ClientSession
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkWriter
from headwater_rtmp.wire.commands import encode_command

CHUNK_SIZE = 4096


def make_clip(path: Path, mbps: float, seconds: float) -> list[FlvTag]:
    """A 720p H.264 + AAC FLV clip at about ``mbps`` Mbit/s, as FLV tags."""
    rate = f"{mbps}M"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
           "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
           "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
           "-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-g", "60", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "128k", "-f", "flv", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=600)
    items = FlvReader().feed(path.read_bytes())
    return [t for t in items if isinstance(t, FlvTag) and t.kind in (m.AUDIO, m.VIDEO)]


def chunked(tags: list[FlvTag]) -> list[tuple[int, bytes]]:
    """(timestamp, wire bytes) per message, chunked once for every publisher (stream id 1)."""
    writer = ChunkWriter(CHUNK_SIZE)
    out = []
    for tag in tags:
        csid = m.CSID_VIDEO if tag.kind == m.VIDEO else m.CSID_AUDIO
        out.append((tag.timestamp, writer.write(csid, tag.kind, 1, tag.timestamp, tag.data)))
    return out


def free_port() -> int:
    """A free loopback TCP port (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def publisher(
    port: int, name: str, wire: list[tuple[int, bytes]], stop: float, sent: list[int]
) -> None:
    """Handshake, connect, publish; then send the clip paced by its timestamps until ``stop``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    session = ClientSession("live", f"rtmp://127.0.0.1:{port}/live", name, chunk_size=CHUNK_SIZE)
    session.start()
    started = False
    while not started:
        writer.write(session.data_to_send())
        data = await asyncio.wait_for(reader.read(65536), 10)
        if not data:
            raise ConnectionError(f"{name}: closed during publish")
        for event in session.receive_data(data):
            if isinstance(event, ev.Refused):
                raise ConnectionError(f"{name}: {event.description}")
            started = started or isinstance(event, ev.PublishStarted)
    writer.write(session.data_to_send())
    t0 = time.monotonic()
    for ts, data in wire:  # one write per message when it is due, as ffmpeg -re does
        delay = t0 + ts / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if time.monotonic() >= stop:
            break
        writer.write(data)
        if writer.transport.get_write_buffer_size() > 1 << 20:
            await writer.drain()
        sent[0] += len(data)
    await close(writer)


async def close(writer: asyncio.StreamWriter) -> None:
    """Close and wait until the socket is really closed (the next N reuses the names)."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 10)
    except (TimeoutError, OSError):
        writer.transport.abort()


async def player(port: int, name: str, stop: float, got: list[int]) -> None:
    """Connect, play ``live/name`` and read until ``stop``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    w = ChunkWriter()
    writer.write(b"\x03" + bytes(1536))
    await reader.readexactly(1 + 2 * 1536)
    writer.write(bytes(1536))
    connect = encode_command(
        "connect", 1, {"app": "live", "tcUrl": f"rtmp://127.0.0.1:{port}/live"}
    )
    writer.write(w.write(3, m.COMMAND_AMF0, 0, 0, connect))
    writer.write(w.write(3, m.COMMAND_AMF0, 0, 0, encode_command("createStream", 2, None)))
    writer.write(w.write(8, m.COMMAND_AMF0, 1, 0, encode_command("play", 3, None, name)))
    while time.monotonic() < stop:
        data = await reader.read(1 << 18)
        if not data:
            raise ConnectionError(f"player of {name} was closed")
        got[0] += len(data)
    await close(writer)


def api_streams(http: int) -> list[dict]:
    """The server's stream list (its stats) from the HTTP API."""
    url = f"http://127.0.0.1:{http}/streamer/api/v3/streams?limit=1000"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["streams"]


async def measure(
    port: int, http: int, server: psutil.Process, wire, n: int, seconds: float
) -> None:
    """Run ``n`` publishers and players; measure after a 3 s warm-up."""
    sent, got = [0], [0]
    rss0 = server.memory_info().rss
    stop = time.monotonic() + seconds + 3
    pubs = [asyncio.create_task(publisher(port, f"bench{i}", wire, stop, sent)) for i in range(n)]
    await asyncio.sleep(1.5)
    plays = [asyncio.create_task(player(port, f"bench{i}", stop, got)) for i in range(n)]
    await asyncio.sleep(1.5)
    times0 = server.cpu_times()
    cpu0 = times0.user + times0.system
    bytes0, got0 = sent[0], got[0]
    t0 = time.monotonic()
    await asyncio.sleep(seconds - 0.5)
    times = server.cpu_times()
    cpu = times.user + times.system - cpu0
    kernel = (times.system - times0.system) / cpu if cpu else 0.0
    rss = server.memory_info().rss
    wall = time.monotonic() - t0
    gb = (sent[0] - bytes0) / 1e9
    out_mbit = (got[0] - got0) * 8 / 1e6 / wall
    streams = await asyncio.to_thread(api_streams, http)
    live = sum(1 for x in streams if x["stats"]["alive"] and x["name"].startswith("live/bench"))
    drops = sum(x["stats"]["drops"] for x in streams)
    results = await asyncio.gather(*pubs, *plays, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"N={n:>3}  in {gb * 8e3 / wall:7.1f} Mbit/s  out {out_mbit:7.1f} Mbit/s  "
          f"server CPU {cpu / wall * 100:5.1f}% ({kernel:.0%} kernel)  {cpu / gb:6.2f} CPU-s/GB  "
          f"RSS/stream {(rss - rss0) / n / 1e6:5.2f} MB  live {live}  player drops {drops}  "
          f"connected {'all' if not failed else f'{len(failed)} failed: {failed[0]!r}'}  "
          f"(load {load})", flush=True)  # fmt: skip


def main() -> None:
    """Start the server, make the clip, measure each N."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--publishers", type=int, nargs="+", default=[1, 10, 30, 60])
    ap.add_argument("--mbps", type=float, default=4.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--read-interval", type=float, help="the server's rtmp.read_interval")
    ap.add_argument("--play-interval", type=float, help="the server's rtmp.play_interval")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tags = make_clip(Path(tmp) / "clip.flv", args.mbps, args.seconds + 6)
        wire = chunked(tags)
        port, http = free_port(), free_port()
        exe = Path(sys.executable).parent / "headwater"
        config = Path(tmp) / "bench.toml"
        section = "".join(
            f"{key} = {value}\n"
            for key, value in (
                ("read_interval", args.read_interval),
                ("play_interval", args.play_interval),
            )
            if value is not None
        )
        config.write_text(
            "[[templates]]\nname = 'live'\nprefixes = ['live']\ninputs = [{url = 'publish://'}]\n"
            f"[rtmp]\n{section}"
        )
        proc = subprocess.Popen(
            [str(exe), "serve", "-c", str(config), "--data-dir", tmp, "--log-level", "warning",
             "-l", f"rtmp=127.0.0.1:{port}", "-l", f"http=127.0.0.1:{http}",
             "-l", "rtsp=off", "-l", "srt=off"],
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
            size = sum(len(w) for _, w in wire)
            nginx = "installed" if _has_nginx_rtmp() else "not installed"
            print(f"clip {size / 1e6:.1f} MB, {tags[-1].timestamp / 1000:.0f} s, "
                  f"{size * 8 / tags[-1].timestamp / 1000:.1f} Mbit/s per publisher; "
                  f"nginx-rtmp: {nginx}")  # fmt: skip
            for n in args.publishers:
                run(measure(port, http, server, wire, n, args.seconds))
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:  # the next N reuses the names
                    live = [x["name"] for x in api_streams(http) if x["stats"]["alive"]]
                    if not live:
                        break
                    time.sleep(0.2)
                else:
                    print(f"still live 10 s after their publishers left: {live}", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)


def run(coro) -> None:
    """Run the clients on uvloop when installed (they share the 2 cores with the server)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def _has_nginx_rtmp() -> bool:
    try:
        out = subprocess.run(["nginx", "-V"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "rtmp" in out.stderr


if __name__ == "__main__":
    main()
