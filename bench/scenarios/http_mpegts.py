"""HTTP MPEG-TS ingest: N chunked ``POST /bench/cK/mpegts`` publishers (issue 4).

Each publisher is a raw asyncio TCP client in the bench process (its CPU is not the
server's): one chunked POST of the cached TS clip, looped, 64 KiB per chunk, paced at
``--mbps`` (plus the clip's audio and overhead, the rate a real encoder would send). The
target is ≤ 10 CPU-s/GB at N = 30.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.harness import IngestScenario, Run, clip
from bench.harness.streams import close, sleep_or_stop

CHUNK = 64 * 1024


class HttpMpegts(IngestScenario):
    """HTTP MPEG-TS ingest with N real-time publishers."""

    name = "http_mpegts"
    summary = "HTTP MPEG-TS ingest (chunked POST), N real-time publishers"
    protos = ("http",)
    default_publishers = (1, 10, 30)
    all_argv = ("--publishers", "1", "10", "30")

    def prepare(self, args: argparse.Namespace) -> str:
        """Load the TS clip; the sending rate is ``--mbps`` whatever the file's own rate."""
        path = clip("mpegts", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                    cache=args.cache_dir)  # fmt: skip
        data = path.read_bytes()
        self.data = data[: len(data) - len(data) % 188]
        return f"{path.name}, {len(self.data) / 1e6:.1f} MB, sent at {args.mbps:g} Mbit/s"

    async def start_clients(self, run: Run) -> None:
        """One publisher per stream."""
        for i in range(run.n):
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
