"""Live HLS cutting cost on one core: MPEG-TS segments against low-latency fMP4 parts.

No server, no sockets: the cached 12 Mbit/s H.264 + AAC clip (as ``ts_codec``) is demuxed
once, then its frames are fed to the MPEG-TS HLS window (``SegmentWindow``: TS muxing and
keyframe-aligned segments) and to the low-latency window (``PartWindow``: fMP4 fragments
every ``part_duration``), each ``--repeat`` times in the same process; printed: the best
CPU time of each, as MB/s of published media, and their ratio (the figure to compare
across runs on a shared machine). The MPEG-TS window is also fed in batches, as the live
HLS takes them with the frames arriving at their DTS: every 0.1 s (how it gathered
before), and as :func:`headwater_hls.live.gather_pause` decides (until the open segment
may close, then every 0.1 s), with the number of batches (= the task's wake-ups).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.harness import clip
from bench.scenarios.ts_codec import demux
from headwater.media.frames import CLOCK_RATE
from headwater.media.mpegts import TracksChanged
from headwater_hls.live import GATHER_SECONDS, gather_pause
from headwater_hls.part_window import PartWindow
from headwater_hls.window import SegmentWindow


def cut(window: Any, tracks: Any, frames: list[Any]) -> float:
    """CPU seconds to feed every frame of one publication to ``window``."""
    start = time.process_time()
    window.start_publication(tracks, 0.0, frames[0].dts)
    for frame in frames:
        window.feed(frame)
    window.end_publication()
    return time.process_time() - start


def cut_in_batches(
    window: Any, tracks: Any, frames: list[Any], adaptive: bool
) -> tuple[float, int]:
    """CPU seconds and number of batches to feed ``frames`` to ``window`` in the live HLS's
    batches: frame ``i`` arrives at its DTS; after each batch the HLS pauses
    ``GATHER_SECONDS`` (or ``gather_pause(window.seconds_to_cut())`` when ``adaptive``)
    and takes every frame that arrived meanwhile (the next one, if none did)."""
    first = frames[0].dts
    arrive = [(f.dts - first) / CLOCK_RATE for f in frames]
    start = time.process_time()
    window.start_publication(tracks, 0.0, first)
    i, now, batches = 0, 0.0, 0
    while i < len(frames):
        j = i
        while j < len(frames) and arrive[j] <= now:
            j += 1
        if j == i:  # nothing arrived: woken by the next frame
            j, now = i + 1, arrive[i]
        window.feed_many(frames[i:j])
        batches += 1
        i = j
        now += gather_pause(window.seconds_to_cut()) if adaptive else GATHER_SECONDS
    window.end_publication()
    return time.process_time() - start, batches


class HLSWindows:
    """The two live HLS windows on the same frames."""

    name = "hls_windows"
    summary = "live HLS cutting MB/s on one core: MPEG-TS segments vs LL-HLS fMP4 parts"
    all_argv: tuple[str, ...] = ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Clip length, repeats, part duration, cache."""
        parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
        parser.add_argument("--repeat", type=int, default=5, help="runs; the best counts")
        parser.add_argument("--part-duration", type=float, default=0.5, help="LL part, s")
        parser.add_argument("--cache-dir", type=Path, help="where clips are kept")

    def run(self, args: argparse.Namespace) -> dict[str, float]:
        """Print one line per window and the ratio; return the figures (MB/s)."""
        print(f"\n### {self.name}: {self.summary}\n", flush=True)
        path = clip(
            "mpegts", mbps=12, seconds=args.seconds, size="1280x720", bufsize="4M",
            cache=args.cache_dir,
        )  # fmt: skip
        _, events = demux(path.read_bytes(), 65536)
        frames = [e for e in events if not isinstance(e, TracksChanged)]
        tracks = next(e for e in reversed(events) if isinstance(e, TracksChanged)).tracks
        mb = sum(f.size for f in frames) / 1e6

        def ts() -> SegmentWindow:
            return SegmentWindow(target=2.0, count=4, sequence=0, discontinuity=0)

        def ll() -> PartWindow:
            return PartWindow(
                target=2.0, part_target=args.part_duration, count=4, sequence=0, discontinuity=0
            )

        figures: dict[str, float] = {}
        for label, make in (("MPEG-TS segments", ts), ("LL-HLS fMP4 parts", ll)):
            best = min(cut(make(), tracks, frames) for _ in range(args.repeat))
            figures[label] = mb / best
            print(f"{label:<18} {mb / best:8.1f} MB/s of media ({best * 1000:.1f} ms CPU)")
        ratio = figures["LL-HLS fMP4 parts"] / figures["MPEG-TS segments"]
        print(f"LL-HLS / MPEG-TS speed: {ratio:.2f}", flush=True)
        for label, adaptive in (("MPEG-TS, 0.1 s batches", False), ("MPEG-TS, live batches", True)):
            runs = [cut_in_batches(ts(), tracks, frames, adaptive) for _ in range(args.repeat)]
            best, batches = min(runs)
            figures[label] = mb / best
            print(f"{label:<22} {mb / best:8.1f} MB/s of media ({best * 1000:.1f} ms CPU, "
                  f"{batches} batches)", flush=True)  # fmt: skip
        return figures


SCENARIO = HLSWindows()
