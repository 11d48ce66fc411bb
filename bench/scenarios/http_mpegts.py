"""HTTP MPEG-TS ingest: N chunked ``POST /bench/cK/mpegts`` publishers (issues 4 and 14).

By default each publisher is an ffmpeg process (``--client ffmpeg``: Debian's when
installed), ``-re -stream_loop -1 -c copy -f mpegts http://.../bench/cK/mpegts``: the real
client, which sends one chunk per muxed frame (some 37 a second at 4 Mbit/s, 3 to 30 KB each,
every chunk in three ``send`` calls: size line, data, CRLF).
``--client asyncio`` runs raw asyncio TCP clients in the bench process instead: one
chunked POST of the cached TS clip, looped, 64 KiB per chunk, paced at ``--mbps``. Either
way their CPU is not the server's. Targets at N = 30: ≤ 10 CPU-s/GB (issue 4), and with
ffmpeg ≤ 1.2x headwater's own RTMP ingest of the same media (issue 14; the
``side_by_side`` scenario measures both).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.harness import IngestScenario, Run, clip
from bench.harness.ffmpeg import SPACING, ffmpeg_exe, ffmpeg_version, publish
from bench.harness.streams import close, sleep_or_stop

CHUNK = 64 * 1024


class HttpMpegts(IngestScenario):
    """HTTP MPEG-TS ingest with N real-time publishers."""

    name = "http_mpegts"
    summary = "HTTP MPEG-TS ingest (chunked POST), N real-time publishers"
    protos = ("http",)
    default_publishers = (1, 10, 30)
    all_argv = ("--publishers", "1", "10", "30")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Client kind and the ffmpeg."""
        parser.add_argument(
            "--client", choices=["ffmpeg", "asyncio"], default="ffmpeg",
            help="publishers: ffmpeg processes (real clients) or asyncio clients",
        )  # fmt: skip
        parser.add_argument("--ffmpeg", help="the ffmpeg to publish with (default: Debian's)")
        parser.add_argument("--read-interval", type=float,
                            help="the server's mpegts.read_interval")  # fmt: skip

    def sections(self, args: argparse.Namespace) -> str:
        """An ``[mpegts]`` section with the knobs given on the command line."""
        if args.read_interval is None:
            return ""
        return f"[mpegts]\nread_interval = {args.read_interval}\n"

    def prepare(self, args: argparse.Namespace) -> str:
        """Load the TS clip; the sending rate is ``--mbps`` whatever the file's own rate."""
        path = clip("mpegts", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                    cache=args.cache_dir)  # fmt: skip
        self.path = path
        if args.client == "ffmpeg":
            self.exe = ffmpeg_exe(args.ffmpeg)
            rate = path.stat().st_size * 8 / args.clip_seconds / 1e6
            return f"{path.name} looped by {ffmpeg_version(self.exe)}, {rate:.1f} Mbit/s"
        data = path.read_bytes()
        self.data = data[: len(data) - len(data) % 188]
        return f"{path.name}, {len(self.data) / 1e6:.1f} MB, sent at {args.mbps:g} Mbit/s"

    async def start_clients(self, run: Run) -> None:
        """One publisher per stream."""
        for i in range(run.n):
            if run.args.client == "ffmpeg":
                url = f"http://127.0.0.1:{run.server.port('http')}/{run.name(i)}/mpegts"
                run.spawn(i, publish(run, self.exe, self.path, "mpegts", url))
                await asyncio.sleep(SPACING)
            else:
                run.spawn(i, self.publisher(run, i))

    async def publisher(self, run: Run, i: int) -> None:
        """One chunked POST, paced at ``--mbps``, until the stop; then the final chunk."""
        reader, writer = await asyncio.open_connection("127.0.0.1", run.server.port("http"))
        try:
            writer.write(
                f"POST /{run.name(i)}/mpegts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Transfer-Encoding: chunked\r\nContent-Type: video/mp2t\r\n\r\n".encode()
            )
            data = self.data
            interval = CHUNK * 8 / (run.args.mbps * 1e6)
            start = time.monotonic()
            pos = sent = 0
            while True:
                chunk = data[pos : pos + CHUNK]
                pos = (pos + CHUNK) % len(data)
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await asyncio.wait_for(writer.drain(), 10)
                run.count("sent", len(chunk))
                sent += 1
                if await sleep_or_stop(run.stop, start + sent * interval - time.monotonic()):
                    break
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 10)
            if not status.startswith(b"HTTP/1.1 2"):
                raise ConnectionError(f"the server answered {status!r}")
        finally:
            await close(writer)


SCENARIO = HttpMpegts()
