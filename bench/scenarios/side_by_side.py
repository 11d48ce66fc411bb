"""The issue-14 table: headwater beside the reference servers, every goal in one run.

Runs the ingest scenarios with real clients (ffmpeg publishers) at the issue's sizes and
prints one summary table (server, scenario, N, CPU-s/GB, RSS per stream, ratio, goal,
drops/loss):

- ``rtmp`` N = 60, one player per stream: headwater and nginx-rtmp; ratio to nginx-rtmp;
- ``srt`` N = 30, AES-128: headwater and srt-live-transmit (one process per caller);
- ``http_mpegts`` N = 30 from ffmpeg, and headwater's own RTMP ingest of the same media at
  N = 30 (no players, so both are ingest only); ratio HTTP ÷ RTMP;
- ``rtmp`` and ``srt`` with 200 small publishers (640x360, 0.5 Mbit/s, IP-camera sized):
  RTMP beside nginx-rtmp (one process); SRT alone, since 200 srt-live-transmit processes
  (several threads each) push a 2-core machine's load average into the hundreds and so
  measure nothing but contention (the issue asks no ratio there: all connected, no drops,
  RSS per stream). The 200 SRT callers are headwater's own (``--client asyncio``, 25 per
  process): 200 ffmpeg processes swamped the 2 cores (load average 87) and measured
  themselves.

``--repeat 3`` measures each row three times (interleaved with its reference, so both see
the same load) and keeps the median; ``--scale 0.1`` divides every N by ten for a quick
pass; ``--only rtmp srt`` picks cases. The reference rows appear where the reference is
installed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import Row
from bench.harness.report import load_text, machine
from bench.scenarios import load

SUMMARY = ("server", "scenario", "N", "CPU-s/GB", "RSS/stream MB", "ratio", "goal",
           "connected", "drops/loss", "load")  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One line of the issue: a scenario, its flags, the goal and what the ratio is to."""

    key: str
    scenario: str
    n: int
    argv: tuple[str, ...]
    goal: str


CASES = (
    Case("rtmp", "rtmp", 60, (), "≤ 1.0x nginx-rtmp"),
    Case("srt", "srt", 30, ("--pbkeylen", "16"), "≤ 1.0x srt-live-transmit"),
    Case("http", "http_mpegts", 30, (), "≤ 1.2x headwater RTMP ingest"),
    Case("http-base", "rtmp", 30, ("--no-players", "--targets", "headwater"), "(HTTP's base)"),
    Case(
        "small-rtmp", "rtmp", 200, ("--mbps", "0.5", "--size", "640x360"), "no drops, ≤ 1 MB/stream"
    ),
    Case(
        "small-srt",
        "srt",
        200,
        ("--mbps", "0.5", "--size", "640x360", "--targets", "headwater", "--client", "asyncio"),
        "no drops, ≤ 1 MB/stream",
    ),
)


class SideBySide:
    """Every goal of issue 14, headwater beside the reference servers."""

    name = "side_by_side"
    summary = "issue 14: headwater beside nginx-rtmp and srt-live-transmit, real clients"
    all_argv: tuple[str, ...] = ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Repeats, window, scale, cases."""
        parser.add_argument("--repeat", type=int, default=3, help="runs per row; median kept")
        parser.add_argument("--seconds", type=float, default=15.0, help="measuring window")
        parser.add_argument("--scale", type=float, default=1.0, help="multiply every N")
        parser.add_argument("--only", nargs="+", choices=[c.key for c in CASES],
                            help="cases to run (default: all)")  # fmt: skip
        parser.add_argument("--ffmpeg", help="the ffmpeg to publish with (default: Debian's)")
        parser.add_argument("--cache-dir", type=Path, help="where clips are kept")

    def case_argv(self, args: argparse.Namespace, case: Case) -> list[str]:
        """The flags of ``case``'s scenario."""
        n = max(1, round(case.n * args.scale))
        argv = ["--publishers", str(n), "--seconds", str(args.seconds),
                "--repeat", str(args.repeat), *case.argv]  # fmt: skip
        if args.ffmpeg:
            argv += ["--ffmpeg", args.ffmpeg]
        if args.cache_dir:
            argv += ["--cache-dir", str(args.cache_dir)]
        return argv

    def run(self, args: argparse.Namespace) -> list[tuple[str, Row]]:
        """Run the cases, print each scenario's table, then the summary; return it."""
        keys = args.only or [c.key for c in CASES]
        if "http" in keys and "http-base" not in keys:
            keys.append("http-base")
        before = load_text()
        done: dict[str, list[Row]] = {}
        for case in CASES:
            if case.key in keys:
                scenario = load(case.scenario)
                parser = argparse.ArgumentParser()
                scenario.add_arguments(parser)
                done[case.key] = scenario.run(parser.parse_args(self.case_argv(args, case)))
        base = next(iter(done.get("http-base", [])), None)
        for row in done.get("http", []):
            if base is not None and base.cpu_per_gb > 0:
                row.ratio = row.cpu_per_gb / base.cpu_per_gb
        lines = [(c, r) for c in CASES if c.key in done for r in done[c.key]]
        print(f"\n### {self.name}: {self.summary}\n")
        print(f"- machine: {machine()}")
        print(f"- load before: {before}; after: {load_text()}")
        print(f"- median of {args.repeat} runs per row, {args.seconds:g} s windows\n")
        print("| " + " | ".join(SUMMARY) + " |\n|" + "---|" * len(SUMMARY))
        for case, row in lines:
            print(summary_line(case, row))
        return [(case.key, row) for case, row in lines]


def summary_line(case: Case, row: Row) -> str:
    """One line of the summary table."""
    name = case.scenario if case.key != "http-base" else "rtmp (ingest only)"
    if case.key.startswith("small"):
        name += " 0.5M"
    cells: list[Any] = [
        row.server,
        name,
        row.n,
        f"{row.cpu_per_gb:.2f}",
        f"{row.rss_per_stream_mb:.2f}",
        "" if row.ratio is None else f"{row.ratio:.2f}x",
        case.goal if row.server == "headwater" else "",
        f"{row.connected}/{row.n}",
        row.drops_loss,
        " ".join(f"{x:.2f}" for x in row.load),
    ]
    return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"


SCENARIO = SideBySide()
