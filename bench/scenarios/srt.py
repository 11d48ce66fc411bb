"""Encrypted SRT ingest: N real-time ffmpeg callers (issue 5).

Each caller is the bundled ffmpeg (libsrt) publishing the cached TS clip with
``-re -stream_loop -1 -c copy`` to the server's SRT listener, stream id
``#!::r=bench/cK,m=publish``, AES-128 by default (``--pbkeylen``), the passphrase coming
from the bench template's ``srt_publish``. ffmpeg runs in its own processes, so its CPU is
not the server's. The drops/loss cell sums the receiver counters the server logs when a
caller leaves: packets lost on the way, recovered by retransmission, dropped too late.
Target: ≤ 22 CPU-s/GB at N = 30 with AES-128.
"""

from __future__ import annotations

import argparse
import re
import shutil

import imageio_ffmpeg

from bench.harness import IngestScenario, Run, clip, run_until_stop

PASSPHRASE = "bench-passphrase-0123"
LOSS = re.compile(r"(\d+) packets, (\d+) lost, (\d+) recovered, (\d+) dropped too late")


class Srt(IngestScenario):
    """Encrypted SRT ingest with N ffmpeg callers."""

    name = "srt"
    summary = "SRT ingest, AES encrypted, N real-time ffmpeg callers"
    protos = ("srt",)
    default_publishers = (1, 10, 30)
    all_argv = ("--publishers", "1", "10", "30")
    log_level = "info"  # the loss counters are logged at info when a caller leaves

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Key length and latency."""
        parser.add_argument("--pbkeylen", type=int, default=16, choices=[0, 16, 24, 32],
                            help="AES key bytes (0: no encryption)")  # fmt: skip
        parser.add_argument("--latency", type=int, default=None, help="caller latency, µs")

    def template(self, args: argparse.Namespace) -> str:
        """The bench template with a passphrase (unless ``--pbkeylen 0``)."""
        body = super().template(args)
        if args.pbkeylen:
            body += f'srt_publish = {{ passphrase = "{PASSPHRASE}" }}\n'
        return body

    def warmup(self, args: argparse.Namespace, n: int) -> float:
        """ffmpeg start-up takes a while when many start at once: 3 s + 0.1 s per caller."""
        return args.warmup if args.warmup is not None else 3.0 + 0.1 * n

    def prepare(self, args: argparse.Namespace) -> str:
        """The TS clip each caller loops."""
        self.path = clip("mpegts", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                         cache=args.cache_dir)  # fmt: skip
        rate = self.path.stat().st_size * 8 / args.clip_seconds / 1e6
        key = f"AES-{args.pbkeylen * 8}" if args.pbkeylen else "unencrypted"
        lst = "installed" if shutil.which("srt-live-transmit") else "not installed"
        return f"{self.path.name}, {rate:.1f} Mbit/s per caller, {key}; srt-live-transmit {lst}"

    async def start_clients(self, run: Run) -> None:
        """One ffmpeg caller per stream."""
        for i in range(run.n):
            run.spawn(i, self.caller(run, i))

    async def caller(self, run: Run, i: int) -> None:
        """Run ffmpeg until the stop; an exit before it is a failure (with ffmpeg's words)."""
        args = run.args
        url = (f"srt://127.0.0.1:{run.server.port('srt')}?mode=caller"
               f"&streamid=#!::r={run.name(i)},m=publish")  # fmt: skip
        if args.pbkeylen:
            url += f"&passphrase={PASSPHRASE}&pbkeylen={args.pbkeylen}"
        if args.latency is not None:
            url += f"&latency={args.latency}"
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-re", "-stream_loop",
               "-1", "-i", str(self.path), "-c", "copy", "-f", "mpegts", url]  # fmt: skip
        await run_until_stop(run, cmd)

    def drops_loss(self, run: Run, stats: dict, log: str) -> str:
        """SRT receiver counters summed over the callers (logged when each left)."""
        packets = lost = recovered = late = 0
        for match in LOSS.finditer(log):
            p, lo, r, d = map(int, match.groups())
            packets, lost, recovered, late = packets + p, lost + lo, recovered + r, late + d
        return f"lost {lost}, recovered {recovered}, late {late} of {packets} pkts"


SCENARIO = Srt()
