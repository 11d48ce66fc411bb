"""MPEG-TS demux and mux speed, MB/s on one core, of a 12 Mbit/s H.264 + AAC stream (issue 4).

No server, no sockets: the cached clip (720p noisy testsrc2 at ~12 Mbit/s, AAC 128k) is
demuxed in 64 KiB chunks and in 1316-byte chunks (one UDP/SRT datagram each), and every
demuxed frame is muxed again. Printed: the best of ``--repeat`` runs of each, with the
load average, since the CPU is shared. Targets: demux ≥ 150 MB/s, mux ≥ 100 MB/s.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from bench.harness import clip
from headwater.media.mpegts import TracksChanged, TSReader, TSWriter


def demux(data: bytes, chunk: int) -> tuple[float, list[Any]]:
    """Seconds of CPU to demux ``data`` fed in ``chunk``-byte pieces, and the events."""
    reader = TSReader()
    events: list[Any] = []
    start = time.process_time()
    for i in range(0, len(data), chunk):
        events += reader.feed(data[i : i + chunk])
    events += reader.flush()
    return time.process_time() - start, events


def mux(tracks: Any, frames: list[Any]) -> tuple[float, int]:
    """Seconds of CPU to mux ``frames`` and the bytes written."""
    writer = TSWriter(tracks)
    start = time.process_time()
    total = sum(len(writer.write(f)) for f in frames)
    return time.process_time() - start, total


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class TsCodec:
    """The MPEG-TS reader and writer on their own."""

    name = "ts_codec"
    summary = "MPEG-TS demux/mux MB/s on one core (12 Mbit/s H.264 + AAC), no sockets"
    all_argv: tuple[str, ...] = ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Clip length, repeats, cache."""
        parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
        parser.add_argument("--repeat", type=int, default=3, help="runs; the best counts")
        parser.add_argument("--size", default="1280x720", help="picture size of the clip")
        parser.add_argument("--cache-dir", type=Path, help="where clips are kept")
        parser.add_argument("--mbps", type=float, default=12.0, help="video bit rate of the clip")
        parser.add_argument(
            "--chunks", default="65536,1316", help="demux feed sizes in bytes, comma-separated"
        )

    def run(self, args: argparse.Namespace) -> dict[str, float]:
        """Print one line per figure; return the figures (MB/s)."""
        print(f"\n### {self.name}: {self.summary}\n", flush=True)
        path = clip(
            "mpegts", mbps=args.mbps, seconds=args.seconds, size=args.size,
            bufsize="4M" if args.mbps == 12 else None,
            cache=args.cache_dir,
        )  # fmt: skip
        data = path.read_bytes()
        mb = len(data) / 1e6
        print(f"clip: {mb:.1f} MB, {len(data) * 8 / args.seconds / 1e6:.1f} Mbit/s")
        print(f"load average before: {_load()}")
        figures: dict[str, float] = {}
        for chunk in (int(c) for c in args.chunks.split(",")):
            best = min(demux(data, chunk)[0] for _ in range(args.repeat))
            figures[f"demux {chunk}"] = mb / best
            print(f"demux {chunk:>6}-byte chunks: {mb / best:7.1f} MB/s")
        _, events = demux(data, 65536)
        frames = [e for e in events if not isinstance(e, TracksChanged)]
        tracks = next(e for e in reversed(events) if isinstance(e, TracksChanged)).tracks
        best, size = min(mux(tracks, frames) for _ in range(args.repeat))
        figures["mux"] = size / 1e6 / best
        print(f"mux  {len(frames)} frames: {size / 1e6 / best:7.1f} MB/s (of TS written)")
        print(f"load average after: {_load()}", flush=True)
        return figures


SCENARIO = TsCodec()
