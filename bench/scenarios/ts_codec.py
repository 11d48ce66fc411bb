"""MPEG-TS demux and mux speed, MB/s on one core, of a 12 Mbit/s H.264 + AAC stream (issue 4).

No server, no sockets: the cached clip (720p noisy testsrc2 at ~12 Mbit/s, AAC 128k) is
demuxed in 64 KiB chunks and in 1316-byte chunks (one UDP/SRT datagram each), and every
demuxed frame is muxed again: frame by frame (``TSWriter.write``), in batches of
``--batch`` frames (``TSWriter.write_many``; 8 frames is what the DVR recorder and live
HLS gather in their 0.1 s pauses at this frame rate), and cut into 4 s segments by
``Segmenter.feed`` and ``Segmenter.feed_many`` the same two ways. Printed: the best of
``--repeat`` runs of each, with the load average, since the CPU is shared. Targets: demux
≥ 150 MB/s, mux ≥ 100 MB/s.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from bench.harness import clip
from headwater.media.mpegts import TracksChanged, TSReader, TSWriter
from headwater.media.segmenter import Segmenter


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


def mux_batches(tracks: Any, frames: list[Any], batch: int) -> tuple[float, int]:
    """Seconds of CPU to mux ``frames`` in batches of ``batch`` frames, and the bytes."""
    writer = TSWriter(tracks)
    start = time.process_time()
    total = sum(len(writer.write_many(frames[i : i + batch])) for i in range(0, len(frames), batch))
    return time.process_time() - start, total


def segment(tracks: Any, frames: list[Any], batch: int) -> tuple[float, int]:
    """Seconds of CPU to cut ``frames`` into 4 s segments, frame by frame (``batch`` 0) or
    in batches; and the bytes."""
    segmenter = Segmenter(tracks)
    start = time.process_time()
    if batch:
        total = 0
        for i in range(0, len(frames), batch):
            total += sum(len(step.data) for step in segmenter.feed_many(frames[i : i + batch]))
    else:
        total = sum(len(segmenter.feed(f).data) for f in frames)
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
        parser.add_argument("--batch", type=int, default=8, help="frames per mux batch")

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
        runs = [
            ("mux, batches", lambda: mux_batches(tracks, frames, args.batch)),
            ("segment, frame by frame", lambda: segment(tracks, frames, 0)),
            ("segment, batches", lambda: segment(tracks, frames, args.batch)),
        ]
        for name, run in runs:
            best, size = min(run() for _ in range(args.repeat))
            figures[name] = size / 1e6 / best
            per_frame = best / len(frames) * 1e6
            label = f"{name} of {args.batch}" if "batches" in name else name
            print(f"{label:>26}: {size / 1e6 / best:7.1f} MB/s, {per_frame:5.1f} µs a frame")
        print(f"load average after: {_load()}", flush=True)
        return figures


SCENARIO = TsCodec()
