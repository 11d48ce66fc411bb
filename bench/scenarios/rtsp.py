"""RTSP ingest: N real-time ffmpeg publishers with ANNOUNCE/RECORD (issue 9).

Each publisher is the bundled ffmpeg publishing the cached FLV clip (the same H.264 + AAC
packets as the other scenarios) with ``-re -stream_loop -1 -c copy -f rtsp`` over
``--transport tcp`` (interleaved on the RTSP connection) or ``udp`` (the listener's shared
RTP/RTCP pair). ffmpeg runs in its own processes, so its CPU is not the server's. The
drops/loss cell sums what the server logs when a publisher leaves: packets lost on the way
(UDP), dropped by the depacketizers, malformed. Goal: RTSP/TCP at N = 30 within 1.5 times
RTMP's CPU-s/GB in the same run.
"""

from __future__ import annotations

import argparse
import re

import imageio_ffmpeg

from bench.harness import IngestScenario, Run, clip, run_until_stop

LOSS = re.compile(r"(\d+) packets lost, (\d+) dropped, (\d+) malformed")


class Rtsp(IngestScenario):
    """RTSP ingest with N ffmpeg publishers over TCP or UDP."""

    name = "rtsp"
    summary = "RTSP ingest (ANNOUNCE/RECORD), N real-time ffmpeg publishers, TCP or UDP"
    protos = ("rtsp",)
    default_publishers = (1, 10, 30)
    all_argv = ("--publishers", "1", "10", "30")
    log_level = "info"  # loss counters are logged at info when a publisher leaves

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The RTP transport."""
        parser.add_argument("--transport", choices=["tcp", "udp"], default="tcp",
                            help="RTP over the RTSP connection (tcp) or UDP")  # fmt: skip

    def warmup(self, args: argparse.Namespace, n: int) -> float:
        """ffmpeg start-up takes a while when many start at once: 3 s + 0.1 s per publisher."""
        return args.warmup if args.warmup is not None else 3.0 + 0.1 * n

    def prepare(self, args: argparse.Namespace) -> str:
        """The FLV clip each publisher loops."""
        self.path = clip("flv", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                         cache=args.cache_dir)  # fmt: skip
        rate = self.path.stat().st_size * 8 / args.clip_seconds / 1e6
        return f"{self.path.name}, {rate:.1f} Mbit/s per publisher, RTP over {args.transport}"

    async def start_clients(self, run: Run) -> None:
        """One ffmpeg publisher per stream."""
        for i in range(run.n):
            run.spawn(i, self.publisher(run, i))

    async def publisher(self, run: Run, i: int) -> None:
        """Run ffmpeg until the stop; an exit before it is a failure (with ffmpeg's words)."""
        url = f"rtsp://127.0.0.1:{run.server.port('rtsp')}/{run.name(i)}"
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-nostdin", "-re", "-stream_loop",
               "-1", "-i", str(self.path), "-c", "copy", "-f", "rtsp", "-rtsp_transport",
               run.args.transport, url]  # fmt: skip
        await run_until_stop(run, cmd)

    def drops_loss(self, run: Run, stats: dict, log: str) -> str:
        """Loss, depacketizer drops and malformed packets summed over the publishers."""
        lost = dropped = malformed = 0
        for match in LOSS.finditer(log):
            a, b, c = map(int, match.groups())
            lost, dropped, malformed = lost + a, dropped + b, malformed + c
        return f"lost {lost}, dropped {dropped}, malformed {malformed} pkts"


SCENARIO = Rtsp()
