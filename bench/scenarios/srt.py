"""Encrypted SRT ingest: N real-time callers (issues 5 and 14).

By default (``--client ffmpeg``) each caller is an ffmpeg (libsrt; Debian's when
installed, else the bundled one) publishing the cached TS clip with ``-re -stream_loop -1
-c copy`` to the server's SRT listener, stream id ``#!::r=bench/cK,m=publish``, AES-128 by
default (``--pbkeylen``), the passphrase coming from the bench template's
``srt_publish``. ffmpeg runs in its own processes, so its CPU is not the server's. With
``--client asyncio`` the callers are headwater's own sans-I/O SRT callers
(:mod:`bench.harness.srt_caller`), ``--callers-per-process`` of them in each of a few
asyncio processes, sending the same clip pre-cut and pre-encrypted: 200 of them cost a
fraction of a core where 200 ffmpeg processes swamp 2 cores, so the server is what is
measured. The drops/loss cell sums the receiver counters
the server logs when a caller leaves: packets lost on the way, recovered by
retransmission, dropped too late. Where ``srt-live-transmit`` is installed it is measured
in the same run: one process per caller, each on its own port, summed
(:mod:`bench.harness.srt_live_transmit`). Target at N = 30 with AES-128: ≤ 1.0x
srt-live-transmit's CPU-s/GB (issue 14).
"""

from __future__ import annotations

import argparse
import asyncio
import re

from bench.harness import IngestScenario, Run, clip, srt_caller
from bench.harness import srt_live_transmit as slt
from bench.harness.ffmpeg import SPACING, ffmpeg_exe, ffmpeg_version, publish
from bench.harness.ingest import Target

PASSPHRASE = "bench-passphrase-0123"
CONNECT_TIMEOUT_MS = 15_000
"""The callers' connect timeout (libsrt's default, 3 s, is shorter than the start-up storm
of a couple of hundred ffmpeg processes on 2 cores)."""
ASYNCIO_SPACING = 0.02
"""Seconds between two asyncio callers' starts (over all their processes)."""
LOSS = re.compile(r"(\d+) packets, (\d+) lost, (\d+) recovered, (\d+) dropped too late")


class Srt(IngestScenario):
    """Encrypted SRT ingest with N ffmpeg callers."""

    name = "srt"
    summary = "SRT ingest, AES encrypted, N real-time ffmpeg callers"
    protos = ("srt",)
    default_publishers = (1, 10, 30)
    all_argv = ("--publishers", "1", "10", "30")
    log_level = "info"  # the loss counters are logged at info when a caller leaves
    references = (slt.SrtLiveTransmit.label,)

    def installed_references(self) -> list[str]:
        """srt-live-transmit, when srt-tools is installed."""
        return list(self.references) if slt.installed() else []

    def reference(self, args: argparse.Namespace, n: int, label: str) -> Target:
        """N srt-live-transmit listeners, one per caller, with headwater's passphrase."""
        if label != slt.SrtLiveTransmit.label:
            raise KeyError(label)
        names = [f"bench/c{i}" for i in range(n)]
        latency = None if args.latency is None else max(args.latency // 1000, 0)
        return slt.SrtLiveTransmit(n, names, PASSPHRASE if args.pbkeylen else None,
                                   args.pbkeylen, latency)  # fmt: skip

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Key length, latency, the ffmpeg."""
        parser.add_argument("--client", choices=["ffmpeg", "asyncio"], default="ffmpeg",
                            help="callers: ffmpeg processes (libsrt) or headwater's own "
                            "sans-I/O callers in a few asyncio processes")  # fmt: skip
        parser.add_argument("--callers-per-process", type=int, default=25,
                            help="asyncio callers per process")  # fmt: skip
        parser.add_argument("--ffmpeg", help="the ffmpeg to publish with (default: Debian's)")
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
        """ffmpeg start-up takes a while when many start at once: 3 s + 0.1 s per caller
        (asyncio callers: 3 s + their start spacing)."""
        if args.warmup is not None:
            return args.warmup
        if args.client == "asyncio":
            return 3.0 + ASYNCIO_SPACING * n
        return 3.0 + 0.1 * n

    def prepare(self, args: argparse.Namespace) -> str:
        """The TS clip each caller loops."""
        self.path = clip("mpegts", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                         cache=args.cache_dir)  # fmt: skip
        rate = self.path.stat().st_size * 8 / args.clip_seconds / 1e6
        key = f"AES-{args.pbkeylen * 8}" if args.pbkeylen else "unencrypted"
        if args.client == "asyncio":
            return (f"{self.path.name}, {rate:.1f} Mbit/s per caller, {key}, callers: "
                    f"headwater's, {args.callers_per_process} per asyncio process")  # fmt: skip
        self.exe = ffmpeg_exe(args.ffmpeg)
        return (f"{self.path.name}, {rate:.1f} Mbit/s per caller, {key}, "
                f"callers: {ffmpeg_version(self.exe)}")  # fmt: skip

    async def start_clients(self, run: Run) -> None:
        """One ffmpeg caller per stream, started :data:`SPACING` apart; or groups of
        asyncio callers, one process per group."""
        if run.args.client == "asyncio":
            self.start_groups(run)
            return
        for i in range(run.n):
            run.spawn(i, self.caller(run, i))
            await asyncio.sleep(SPACING)

    def start_groups(self, run: Run) -> None:
        """Processes of asyncio callers; the clip lasts beyond every wait of the run."""
        args = run.args
        callers: list[tuple[int, str | None]] = []
        for i in range(run.n):
            if isinstance(run.server, slt.SrtLiveTransmit):
                callers.append((run.server.srt_port(i), None))
            else:
                callers.append((run.server.port("srt"), f"#!::r={run.name(i)},m=publish"))
        size = max(args.callers_per_process, 1)
        groups = (run.n + size - 1) // size
        seconds = self.warmup(args, run.n) + args.seconds + 60 + 0.2 * run.n
        passphrase = PASSPHRASE if args.pbkeylen else None
        for g in range(groups):
            first = g * size
            coro = srt_caller.run_group(run, first, callers[first : first + size], self.path,
                                        args.clip_seconds, seconds, passphrase, args.pbkeylen,
                                        ASYNCIO_SPACING * groups)  # fmt: skip
            run.spawn(first, coro)

    async def caller(self, run: Run, i: int) -> None:
        """Run ffmpeg until the stop; an exit before it is a failure (with ffmpeg's words)."""
        args = run.args
        if isinstance(run.server, slt.SrtLiveTransmit):
            url = f"srt://127.0.0.1:{run.server.srt_port(i)}?mode=caller"
        else:
            url = (f"srt://127.0.0.1:{run.server.port('srt')}?mode=caller"
                   f"&streamid=#!::r={run.name(i)},m=publish")  # fmt: skip
        if args.pbkeylen:
            url += f"&passphrase={PASSPHRASE}&pbkeylen={args.pbkeylen}"
        if args.latency is not None:
            url += f"&latency={args.latency}"
        url += f"&connect_timeout={CONNECT_TIMEOUT_MS}"
        await publish(run, self.exe, self.path, "mpegts", url)

    def drops_loss(self, run: Run, stats: dict, log: str) -> str:
        """SRT receiver counters summed over the callers (headwater logs them when each
        left; srt-live-transmit's come from its statistics)."""
        if isinstance(run.server, slt.SrtLiveTransmit):
            keys = ("srt_packets", "srt_lost", "srt_late", "srt_retransmitted")
            total = {k: sum(s.get(k, 0) for s in stats.values()) for k in keys}
            return (f"lost {total['srt_lost']}, retransmitted {total['srt_retransmitted']}, "
                    f"late {total['srt_late']} of {total['srt_packets']} pkts")  # fmt: skip
        packets = lost = recovered = late = 0
        for match in LOSS.finditer(log):
            p, lo, r, d = map(int, match.groups())
            packets, lost, recovered, late = packets + p, lost + lo, recovered + r, late + d
        return f"lost {lost}, recovered {recovered}, late {late} of {packets} pkts"


SCENARIO = Srt()
