"""Benchmark: MPEG-TS demux and mux speed (MB/s on one core) of a 12 Mbit/s H.264+AAC stream.

Run: ``.venv/bin/python bench/ts_codec.py [--seconds 10] [--repeat 3]``. The clip is made
by the bundled ffmpeg (720p noisy testsrc2 at ~12 Mbit/s, AAC 128k). Reported: the best
of ``--repeat`` runs for demux in 64 KiB chunks, demux in 1316-byte chunks (one UDP/SRT
datagram each), and mux of every demuxed frame; plus the machine's load average, since
the CPU is shared. Targets (issue 4): demux >= 150 MB/s, mux >= 100 MB/s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg

from headwater.media.mpegts import TracksChanged, TSReader, TSWriter


def make_clip(path: Path, seconds: float) -> bytes:
    """A 12 Mbit/s 1280x720 H.264 + AAC transport stream."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
           "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
           "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
           "-b:v", "12M", "-maxrate", "12M", "-bufsize", "4M", "-g", "60", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "128k", "-f", "mpegts", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=300)
    return path.read_bytes()


def demux(data: bytes, chunk: int) -> tuple[float, list]:
    """Seconds of CPU to demux ``data`` fed in ``chunk``-byte pieces, and the events."""
    reader = TSReader()
    events: list = []
    start = time.process_time()
    for i in range(0, len(data), chunk):
        events += reader.feed(data[i : i + chunk])
    events += reader.flush()
    return time.process_time() - start, events


def mux(tracks, frames) -> tuple[float, int]:
    """Seconds of CPU to mux ``frames`` and the bytes written."""
    writer = TSWriter(tracks)
    start = time.process_time()
    total = sum(len(writer.write(f)) for f in frames)
    return time.process_time() - start, total


def main() -> None:
    """Make the clip, time each direction, print one line per figure."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = make_clip(Path(tmp) / "clip.ts", args.seconds)
    mb = len(data) / 1e6
    print(f"clip: {mb:.1f} MB, {len(data) * 8 / args.seconds / 1e6:.1f} Mbit/s")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for chunk in (65536, 1316):
        best = min(demux(data, chunk)[0] for _ in range(args.repeat))
        print(f"demux {chunk:>6}-byte chunks: {mb / best:7.1f} MB/s")
    _, events = demux(data, 65536)
    frames = [e for e in events if not isinstance(e, TracksChanged)]
    tracks = next(e for e in reversed(events) if isinstance(e, TracksChanged)).tracks
    runs = [mux(tracks, frames) for _ in range(args.repeat)]
    best, size = min(runs)
    print(f"mux  {len(frames)} frames: {size / 1e6 / best:7.1f} MB/s (of TS written)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
