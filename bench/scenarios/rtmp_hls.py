"""RTMP ingest watched over HLS: N real-time RTMP publishers, one HLS reader each (issue 11).

The publishers are those of the ``rtmp`` scenario. Each reader is an httpx client in the
bench process (its CPU is not the server's) that does what a player does: it asks for
``/bench/cK/index.m3u8``, then reloads ``mono.m3u8`` and downloads each new segment once,
pacing its reloads as hls.js and ffmpeg do (RFC 8216 6.3.4): after a playlist that listed
a new segment it waits that segment's duration, after an unchanged one half the target
duration, less the time the reload took. Compare the server's CPU with ``--no-players``
(the same publishers, no HLS): the goal is at most 1.3 times. For latency, each reader
notes, for each new segment, how old its first picture is when the reader first sees it
in the playlist (now minus its ``EXT-X-PROGRAM-DATE-TIME``): the least latency a player
reloading at that pace can have; the goal is at most 3 segment durations.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from datetime import datetime

import httpx

from bench.harness import Run
from bench.scenarios.rtmp import Rtmp

_SEGMENT = re.compile(
    r"^#EXT-X-PROGRAM-DATE-TIME:(\S+)\n#EXTINF:([\d.]+),\n(mono-\d+\.ts)$", re.MULTILINE
)
_TARGET = re.compile(r"^#EXT-X-TARGETDURATION:(\d+)$", re.MULTILINE)


class RtmpHls(Rtmp):
    """RTMP publishers, one HLS reader per stream."""

    name = "rtmp_hls"
    summary = "RTMP ingest, N real-time publishers, one live HLS reader per stream"
    default_publishers = (1, 10, 30)
    all_argv = ("--publishers", "1", "10", "30")
    references: tuple[str, ...] = ()  # nginx-rtmp serves no HLS here

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The rtmp scenario's flags (asyncio publishers, which this scenario paces) and
        the HLS segment duration."""
        super().add_options(parser)
        parser.set_defaults(client="asyncio")
        parser.add_argument("--segment-duration", type=float, default=2.0,
                            help="the server's hls.segment_duration")  # fmt: skip

    def sections(self, args: argparse.Namespace) -> str:
        """``[rtmp]`` as in the rtmp scenario, and ``[hls]``."""
        return super().sections(args) + f"[hls]\nsegment_duration = {args.segment_duration}\n"

    def prepare(self, args: argparse.Namespace) -> str:
        """The rtmp scenario's clip, looped 30 s longer: a busy bench process paces late."""
        longer = argparse.Namespace(**{**vars(args), "seconds": args.seconds + 30})
        return super().prepare(longer)

    def warmup(self, args: argparse.Namespace, n: int) -> float:
        """Long enough for the readers to be past their first segments."""
        return args.warmup if args.warmup is not None else 3.0 + 2 * args.segment_duration

    async def start_clients(self, run: Run) -> None:
        """Publishers; HLS readers once the streams exist."""
        self.ages: list[float] = []
        for i in range(run.n):
            run.spawn(i, self.publisher(run, i))
        if not run.args.no_players:
            await asyncio.sleep(1.5)
            for i in range(run.n):
                run.spawn(i, self.player(run, i), reader=True)

    def notes(self, run: Run, window: float) -> str:
        """What the readers received and how old the newest picture was."""
        if run.args.no_players:
            return "no HLS readers"
        read = run.counted("played") * 8 / 1e6 / window
        if not self.ages:
            return f"HLS readers read {read:.1f} Mbit/s; no segment seen"
        mean, worst = statistics.fmean(self.ages), max(self.ages)
        target = 3 * run.args.segment_duration
        return (f"HLS readers read {read:.1f} Mbit/s; newest picture {mean:.2f} s old when "
                f"listed (max {worst:.2f} s; goal ≤ {target:g} s)")  # fmt: skip

    async def player(self, run: Run, i: int) -> None:
        """Read stream ``i`` over HLS like a player until cancelled at the stop."""
        base = f"http://127.0.0.1:{run.server.port('http')}/{run.name(i)}/"
        seen: set[str] = set()
        async with httpx.AsyncClient(timeout=10) as client:
            master = await client.get(base + "index.m3u8")
            master.raise_for_status()
            while True:
                started = time.monotonic()
                playlist = await client.get(base + "mono.m3u8")
                playlist.raise_for_status()
                now = time.time()
                listed = _SEGMENT.findall(playlist.text)
                new = [(stamp, uri) for stamp, _duration, uri in listed if uri not in seen]
                for stamp, uri in new:
                    first = not seen
                    seen.add(uri)
                    if not first:  # the first playlist lists segments made before we came
                        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                        self.ages.append(now - when.timestamp())
                    segment = await client.get(base + uri)
                    segment.raise_for_status()
                    run.count("played", len(segment.content))
                found = _TARGET.search(playlist.text)
                target = float(found.group(1)) if found else run.args.segment_duration
                # hls.js and ffmpeg: the last segment's duration after a change, else half
                # the target duration; both count from when the reload was sent
                wait = float(listed[-1][1]) if new and listed else target / 2
                pause = wait - (time.monotonic() - started)
                await asyncio.sleep(max(pause, 0.05))


SCENARIO = RtmpHls()
