"""The DVR's recording path alone: N recorders writing one root in real time (issue 10).

No server and no muxing: each of N streams is a paced source of 50 frames a second of
``--mbps`` (a frame's bytes are ready-made, so the TS muxer, which the RTMP scenario with
``--dvr`` measures, costs nothing here), cut by a stand-in segmenter into segments of
``--segment-duration`` seconds and recorded by :class:`headwater_dvr.recorder.DvrRecorder`
into one archive on a temporary directory: the recorders' wake-ups, the buffering, the
file writes, the index rows, the directories and the summaries. For ``--seconds`` the
process's CPU time (every thread, user + system) is measured, and the event loop's thread
apart from the others (``/proc/self/task``): CPU-s per GB recorded, thread hand-offs
(context switches), and whether the archive holds every byte. Run it with another
``headwater_dvr`` first on ``PYTHONPATH`` to compare two versions of the plugin.

With ``--mux`` the streams are real instead: the frames of the cached FLV clip (720p
H.264 + AAC at ``--mbps``, demuxed once, looped), due as their timestamps say and cut by
the real :class:`~headwater.media.segmenter.Segmenter`, so the figure is the whole
recording path of a server with ``dvr`` (muxing, buffering, writing, indexing) without
the ingest; CPU-s per GB are per GB of frame payload taken from the subscriptions.

``--parts`` adds where that CPU went (:mod:`bench.scenarios.dvr_probe`: the muxing, the
recorders' pass around it, the writer thread's file writes, file creations and index
statements, in ms of thread CPU a second); ``--gather`` sets the longest tick between the
root's passes (the server's: 0.8 s, each tick fitted between 0.4 s and it; 0.4 or less
gives a fixed tick).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections import deque
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import anyio

import headwater_dvr.recorder as recorder_module
from bench.scenarios.dvr_probe import PartProbe
from headwater.config.models import DVRSettings
from headwater.media.frames import CLOCK_RATE
from headwater.media.segmenter import SegmentInfo, Step
from headwater_dvr.archive import Archive
from headwater_dvr.recorder import DvrRecorder

FPS = 50


class _Frame:
    """What the recorder reads of a frame: its DTS."""

    __slots__ = ("dts",)

    def __init__(self, dts: int) -> None:
        self.dts = dts


class PacedSubscription:
    """A subscription whose frames become due with the wall clock (FPS a second, or the
    timestamps of ``frames``)."""

    def __init__(self, start: float, stop: float, frames: list[Any] | None = None) -> None:
        self.start = start
        self.stop = stop
        self.sent = 0
        self.sent_bytes = 0
        self.frames = frames
        self.tracks: list[Any] = (
            list({f.track.id: f.track for f in frames}.values()) if frames else []
        )
        self._ready: deque[Any] = deque()

    @property
    def pending(self) -> int:
        return len(self._ready)

    @property
    def ended(self) -> bool:
        return time.monotonic() >= self.stop and not self._ready

    def _due(self) -> None:
        now = min(time.monotonic(), self.stop)
        frames = self.frames
        if frames is None:
            due = int((now - self.start) * FPS)
            while self.sent < due:
                self._ready.append(_Frame(self.sent * CLOCK_RATE // FPS))
                self.sent += 1
            return
        clock = (now - self.start) * CLOCK_RATE + frames[0].dts
        while self.sent < len(frames) and frames[self.sent].dts <= clock:
            frame = frames[self.sent]
            self._ready.append(frame)
            self.sent_bytes += frame.size
            self.sent += 1

    def drain(self) -> list[_Frame]:
        self._due()
        frames = list(self._ready)
        self._ready.clear()
        return frames

    def __aiter__(self) -> PacedSubscription:
        return self

    async def __anext__(self) -> _Frame:
        while True:
            self._due()
            if self._ready:
                return self._ready.popleft()
            if time.monotonic() >= self.stop:
                raise StopAsyncIteration
            await anyio.sleep(1 / FPS)


class FixedSegmenter:
    """Stands in for :class:`headwater.media.segmenter.Segmenter`: every frame gives the
    same ready-made bytes, a segment starts every ``target`` ticks."""

    payload = b""

    def __init__(self, tracks: list[Any], target: int) -> None:
        self.target = target
        self.current: SegmentInfo | None = None
        self.sequence = 0
        self.last = 0

    def feed(self, frame: _Frame) -> Step:
        current = self.current
        self.last = frame.dts
        if current is None or frame.dts - current.start >= self.target:
            opened = SegmentInfo(self.sequence, frame.dts, keyframes=1)
            self.sequence += 1
            closed = None
            if current is not None:
                current.duration = frame.dts - current.start
                closed = current
            self.current = opened
            return Step(self.payload, closed, opened)
        return Step(self.payload)

    def feed_many(self, frames: Any, arena: Any = None) -> list[Step]:
        """:meth:`feed` for a batch, one step per run between boundaries (as the real
        ``Segmenter.feed_many``: one buffer per run)."""
        runs: list[list[Any]] = []
        for frame in frames:
            step = self.feed(frame)
            if step.opened is not None or not runs:
                runs.append([[], step.closed, step.opened, frame.dts])
            runs[-1][0].append(step.data)
            runs[-1][3] = frame.dts
        return [Step(b"".join(chunks), *rest) for chunks, *rest in runs]

    def close(self) -> SegmentInfo | None:
        current = self.current
        if current is not None:
            current.duration = self.last + CLOCK_RATE // FPS - current.start
        self.current = None
        return current


def _sent(sub: PacedSubscription) -> int:
    """Bytes a subscription handed out: frame payload, or the stand-in's bytes a frame."""
    return sub.sent_bytes if sub.frames is not None else sub.sent * len(FixedSegmenter.payload)


def _clip_frames(args: argparse.Namespace, seconds: float) -> list[Any]:
    """The frames of the cached FLV clip, looped to ``seconds`` (as RTMP ingest makes them)."""
    from bench.harness import clip
    from bench.harness.flv import looped, media_tags
    from headwater.media.flv import FlvDemuxer

    path = clip("flv", mbps=args.mbps, cache=args.cache_dir)
    demuxer = FlvDemuxer()
    frames: list[Any] = []
    for tag in looped(media_tags(path), seconds):
        frames += demuxer.tag(tag)
    return frames


def _threads() -> dict[int, tuple[int, int]]:
    """CPU ticks and context switches of each thread of this process."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/self/task/{tid}/status") as f:
                switches = sum(int(line.split()[1]) for line in f if "ctxt_switches" in line)
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12]), switches)
    return out


def _bytes_under(root: Path) -> int:
    """Bytes of the segment files under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*.ts"))


class DvrWrite:
    """N recorders of one root, no muxing: the recording path's own cost."""

    name = "dvr_write"
    summary = "the DVR's recording path alone: N real-time recorders into one root, no muxing"
    all_argv = ("--publishers", "10", "60")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Streams, bitrate, window and segment length."""
        parser.add_argument("--publishers", type=int, nargs="+", default=[10, 60])
        parser.add_argument("--mbps", type=float, default=4.0, help="bitrate per stream")
        parser.add_argument("--seconds", type=float, default=10.0, help="the measuring window")
        parser.add_argument("--warmup", type=float, default=2.0)
        parser.add_argument("--segment-duration", type=float, default=4.0)
        parser.add_argument("--dir", type=Path, help="where the archive goes (a temp dir)")
        parser.add_argument(
            "--mux",
            action="store_true",
            help="real frames (the cached FLV clip) and the real segmenter",
        )
        parser.add_argument("--cache-dir", type=Path, help="where clips are kept")  # fmt: skip
        parser.add_argument(
            "--gather",
            type=float,
            default=recorder_module.GATHER_SECONDS,
            help="the longest tick between the root's passes (<= 0.4: a fixed tick)",
        )
        parser.add_argument(
            "--parts",
            action="store_true",
            help="also the CPU of each part (muxing, recorders, file writes, creations, index)",
        )

    def run(self, args: argparse.Namespace) -> list[dict[str, float]]:
        """One measurement per N; print a table."""
        print(f"\n### {self.name}: {self.summary}\n", flush=True)
        print(f"- plugin: {Path(recorder_module.__file__).parent}")
        print(f"- before: load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
        print("| N | MB/s recorded | CPU % | CPU-s/GB | loop thread | other threads | "
              "context switches/s | archive/recorded |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        rows = []
        for n in args.publishers:
            row = anyio.run(self._measure, args, n, backend_options={"use_uvloop": True})
            rows.append(row)
            print(
                f"| {n} | {row['mbs']:.1f} | {row['cpu_pct']:.1f} | {row['cpu_per_gb']:.2f} "
                f"| {row['loop_pct']:.1f} % | {row['other_pct']:.1f} % "
                f"| {row['switches']:.0f} | {row['archive_ratio']:.4f} |",
                flush=True,
            )
        if args.parts:
            self._print_parts(rows)
        return rows

    @staticmethod
    def _print_parts(rows: list[dict[str, Any]]) -> None:
        """The ``--parts`` table: ms of thread CPU a second of the window, per part."""
        print("\nCPU by part, ms a second (thread CPU; the pass and muxing on the event loop,")
        print("the rest in the writer thread):\n")
        print("| N | muxing | recorders around it | writer thread | file writes | "
              "file creations (each) | index | closes, renames, Python |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        for row in rows:
            p = row["parts"]
            print(
                f"| {row['n']} | {p['mux']:.1f} | {p['recorders']:.1f} | {p['writer']:.1f} "
                f"| {p['write']:.1f} | {p['create']:.1f} ({p['create_us']:.0f} µs) "
                f"| {p['index']:.1f} | {p['writer_other']:.1f} |",
                flush=True,
            )

    async def _measure(self, args: argparse.Namespace, n: int) -> dict[str, Any]:
        probe = PartProbe()
        with probe.installed() if args.parts else nullcontext(probe):
            row = await self._record(args, n, probe)
        if args.parts:
            row["parts"] = probe.summary(row["wall"])
        return row

    async def _record(self, args: argparse.Namespace, n: int, probe: PartProbe) -> dict[str, Any]:
        FixedSegmenter.payload = os.urandom(int(args.mbps * 1e6 / 8 / FPS))
        frames = _clip_frames(args, args.warmup + args.seconds + 1) if args.mux else None
        options: dict[str, Any] = {} if args.mux else {"segmenter": FixedSegmenter}
        options["gather"] = args.gather
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            root = Path(tmp)
            archive = Archive(root)
            await archive.open()
            settings = DVRSettings(root=str(root), segment_duration=args.segment_duration)
            start = time.monotonic()
            stop = start + args.warmup + args.seconds
            subs = [PacedSubscription(start + i * 0.37 / n, stop, frames) for i in range(n)]
            recorders = [DvrRecorder(f"bench/c{i}", archive, settings, **options) for i in range(n)]
            window: dict[str, Any] = {}

            async def measure() -> None:
                await anyio.sleep(args.warmup)
                probe.reset()
                window["t0"] = (time.monotonic(), time.process_time(), _threads())
                window["sent0"] = sum(_sent(s) for s in subs)
                await anyio.sleep(args.seconds)
                window["t1"] = (time.monotonic(), time.process_time(), _threads())
                window["parts"] = (dict(probe.seconds), dict(probe.calls))
                window["sent1"] = sum(_sent(s) for s in subs)

            async with anyio.create_task_group() as tg:
                tg.start_soon(measure)
                for recorder, sub in zip(recorders, subs, strict=True):
                    tg.start_soon(recorder.run, sub)
            await archive.close()
            recorded = sum(_sent(s) for s in subs)
            on_disk = _bytes_under(root)
        (w0, c0, th0), (w1, c1, th1) = window["t0"], window["t1"]
        wall, cpu = w1 - w0, c1 - c0
        data = window["sent1"] - window["sent0"]
        hz = os.sysconf("SC_CLK_TCK")
        main = threading.get_native_id()
        loop = th1.get(main, (0, 0))[0] - th0.get(main, (0, 0))[0]
        total = sum(v[0] - th0.get(t, (0, 0))[0] for t, v in th1.items())
        switches = sum(v[1] - th0.get(t, (0, 0))[1] for t, v in th1.items())
        probe.seconds.clear()  # what the window summed (not the recorders' last flushes)
        probe.seconds.update(window["parts"][0])
        probe.calls.clear()
        probe.calls.update(window["parts"][1])
        return {
            "n": n,
            "wall": wall,
            "mbs": data / wall / 1e6,
            "cpu_pct": cpu / wall * 100,
            "cpu_per_gb": cpu / (data / 1e9),
            "loop_pct": loop / hz / wall * 100,
            "other_pct": (total - loop) / hz / wall * 100,
            "switches": switches / wall,
            "archive_ratio": on_disk / recorded,
        }


SCENARIO = DvrWrite()
