"""RTMP ingest: N real-time publishers, each watched by one RTMP player (issues 3 and 14).

Publishers are ffmpeg processes by default (``--client ffmpeg``: Debian's ffmpeg when
installed, ``-re -stream_loop -1 -c copy`` of the cached FLV clip, a real client), or
asyncio clients in the bench process (``--client asyncio``): the real handshake / connect
/ publish exchange with headwater's own :class:`ClientSession`, then the chunked FLV
messages of the clip, one write per message when its timestamp is due (as ``ffmpeg -re``
does). Players are asyncio clients: connect, play ``bench/cK``, read everything. Either
way their CPU is not the server's. Where nginx with ``libnginx-mod-rtmp`` is installed it
is measured in the same run with the same clients (:mod:`bench.harness.nginx_rtmp`) and
the ratio column compares the two. Targets at N = 60: ≤ 1.0x nginx-rtmp's CPU-s/GB
(issue 14), ≤ 3 MB per stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from pathlib import Path

from bench.harness import IngestScenario, Run, clip, nginx_rtmp
from bench.harness.ffmpeg import SPACING, ffmpeg_exe, ffmpeg_version, publish
from bench.harness.flv import looped, media_tags
from bench.harness.ingest import Target
from bench.harness.streams import close, sleep_or_stop
from headwater_rtmp.wire import events as ev
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_writer import ChunkWriter
from headwater_rtmp.wire.client_session import ClientSession
from headwater_rtmp.wire.commands import encode_command

CHUNK_SIZE = 4096
APP = "bench"
HANDSHAKE = 1536
PUBLISH_TIMEOUT = 10.0
"""Seconds (+ 0.1 per publisher) ffmpeg publishers get to appear before players start."""
PLAYERS_SETTLE = 1.0
"""Seconds between the players' start and the window, at least."""
PLAYER_TIMEOUT = 30.0
"""Seconds a player waits for the server's handshake (hundreds connect at once)."""


class Rtmp(IngestScenario):
    """RTMP ingest with N real-time publishers and one player per stream."""

    name = "rtmp"
    summary = "RTMP ingest, N real-time publishers, one RTMP player per stream"
    protos = ("rtmp",)
    default_publishers = (1, 10, 30, 60)
    all_argv = ("--publishers", "1", "10", "30", "60")
    references = (nginx_rtmp.NginxRtmp.label,)

    def installed_references(self) -> list[str]:
        """nginx-rtmp, when nginx and its RTMP module are installed."""
        return list(self.references) if nginx_rtmp.installed() else []

    def targets(self, args: argparse.Namespace) -> list[str]:
        """As every scenario, but headwater alone by default with ``--dvr`` (nginx-rtmp
        would run without recording, which compares nothing)."""
        if args.dvr and not args.targets:
            return ["headwater"]
        return super().targets(args)

    def reference(self, args: argparse.Namespace, n: int, label: str) -> Target:
        """nginx-rtmp from a generated config (never the system's)."""
        if label != nginx_rtmp.NginxRtmp.label:
            raise KeyError(label)
        return nginx_rtmp.NginxRtmp()

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Client kind, server tuning knobs and the players switch."""
        parser.add_argument(
            "--client", choices=["ffmpeg", "asyncio"], default="ffmpeg",
            help="publishers: ffmpeg processes (real clients) or asyncio clients",
        )  # fmt: skip
        parser.add_argument("--ffmpeg", help="the ffmpeg to publish with (default: Debian's)")
        parser.add_argument("--read-interval", type=float, help="the server's rtmp.read_interval")
        parser.add_argument("--chunk-size", type=int, help="the server's rtmp.chunk_size")
        parser.add_argument("--play-interval", type=float, help="the server's rtmp.play_interval")
        parser.add_argument("--no-players", action="store_true", help="publishers only")
        parser.add_argument(
            "--dvr", action="store_true", help="record every stream (headwater-dvr, 4 s segments)"
        )

    def template(self, args: argparse.Namespace) -> str:
        """The bench template, with ``dvr`` under the server's data directory when asked."""
        dvr = 'dvr = { root = "dvr" }\n' if args.dvr else ""
        return super().template(args) + dvr

    def sections(self, args: argparse.Namespace) -> str:
        """An ``[rtmp]`` section with the knobs given on the command line."""
        knobs = {"read_interval": args.read_interval, "play_interval": args.play_interval,
                 "chunk_size": args.chunk_size}  # fmt: skip
        return "[rtmp]\n" + "".join(f"{k} = {v}\n" for k, v in knobs.items() if v is not None)

    def warmup(self, args: argparse.Namespace, n: int) -> float:
        """Publishers, then players half-way, then the window (3 s by default)."""
        return args.warmup if args.warmup is not None else 3.0

    def prepare(self, args: argparse.Namespace) -> str:
        """Chunk the clip's messages once, long enough for warm-up + window + stop."""
        path = clip("flv", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                    cache=args.cache_dir)  # fmt: skip
        self.path = path
        if args.client == "ffmpeg":
            self.exe = ffmpeg_exe(args.ffmpeg)
            rate = path.stat().st_size * 8 / args.clip_seconds / 1e6
            return f"{path.name} looped by {ffmpeg_version(self.exe)}, {rate:.1f} Mbit/s"
        tags = looped(media_tags(path), self.warmup(args, 0) + args.seconds + 5)
        writer = ChunkWriter(CHUNK_SIZE)
        self.wire = []
        for tag in tags:
            csid = m.CSID_VIDEO if tag.kind == m.VIDEO else m.CSID_AUDIO
            self.wire.append(
                (tag.timestamp, writer.write(csid, tag.kind, 1, tag.timestamp, tag.data))
            )
        size = sum(len(w) for _, w in self.wire)
        rate = size * 8 / tags[-1].timestamp / 1000
        return f"{path.name} looped by asyncio publishers, {rate:.1f} Mbit/s per publisher"

    async def start_clients(self, run: Run) -> None:
        """Publishers; players once the streams exist (half the warm-up later)."""
        self.io_start = (time.monotonic(), _written(run))
        await self.start_publishers(run)
        if not run.args.no_players:
            await asyncio.sleep(self.warmup(run.args, run.n) / 2)
            if run.args.client == "ffmpeg":  # ffmpeg processes take a while to start
                await published(run, PUBLISH_TIMEOUT + 0.1 * run.n)
            for i in range(run.n):
                run.spawn(i, self.player(run, i), reader=True)
            if run.args.client == "ffmpeg":
                await asyncio.sleep(PLAYERS_SETTLE)

    async def start_publishers(self, run: Run) -> None:
        """One publisher per stream: ffmpeg processes (spaced) or asyncio clients."""
        for i in range(run.n):
            if run.args.client == "ffmpeg":
                url = f"rtmp://127.0.0.1:{run.server.port('rtmp')}/{APP}/c{i}"
                run.spawn(i, publish(run, self.exe, self.path, "flv", url))
                await asyncio.sleep(SPACING)
            else:
                run.spawn(i, self.publisher(run, i))

    def consumers(self, args: argparse.Namespace) -> int:
        """One player per stream (none with ``--no-players``)."""
        return 0 if args.no_players else 1

    def notes(self, run: Run, window: float) -> str:
        """What the players received; with ``--dvr``, disk writes and archive size."""
        if run.args.no_players:
            notes = "no players"
        else:
            notes = f"players read {run.counted('played') * 8 / 1e6 / window:.1f} Mbit/s"
        if run.args.dvr:
            started, written = self.io_start
            rate = (_written(run) - written) / (time.monotonic() - started) / 1e6
            root = run.server.dir / "data" / "dvr"
            archive = _archive_bytes(root)
            ingested = sum(s["wire_bytes_in"] for s in run.server.streams(APP + "/").values())
            notes += f"; dvr writes {rate:.1f} MB/s, archive/ingest {archive / ingested:.3f}"
            notes += f"; {_loop_share(run)}"
        return notes

    async def publisher(self, run: Run, i: int) -> None:
        """Handshake, connect, publish; then send the clip paced by its timestamps."""
        port = run.server.port("rtmp")
        name = f"c{i}"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            session = ClientSession(APP, f"rtmp://127.0.0.1:{port}/{APP}", name,
                                    chunk_size=CHUNK_SIZE)  # fmt: skip
            session.start()
            started = False
            while not started:
                writer.write(session.data_to_send())
                data = await asyncio.wait_for(reader.read(65536), 10)
                if not data:
                    raise ConnectionError("closed during publish")
                for event in session.receive_data(data):
                    if isinstance(event, ev.Refused):
                        raise ConnectionError(event.description)
                    started = started or isinstance(event, ev.PublishStarted)
            writer.write(session.data_to_send())
            t0 = time.monotonic()
            for ts, data in self.wire:  # one write per message when due, as ffmpeg -re does
                if await sleep_or_stop(run.stop, t0 + ts / 1000 - time.monotonic()):
                    return
                writer.write(data)
                if writer.transport.get_write_buffer_size() > 1 << 20:
                    await asyncio.wait_for(writer.drain(), 10)
                run.count("sent", len(data))
            raise RuntimeError("the clip ran out before the stop")
        finally:
            await close(writer)

    async def player(self, run: Run, i: int) -> None:
        """Connect, play ``bench/cK`` and read until cancelled at the stop."""
        port = run.server.port("rtmp")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            w = ChunkWriter()
            writer.write(b"\x03" + bytes(HANDSHAKE))
            await asyncio.wait_for(reader.readexactly(1 + 2 * HANDSHAKE), PLAYER_TIMEOUT)
            writer.write(bytes(HANDSHAKE))
            url = f"rtmp://127.0.0.1:{port}/{APP}"
            connect = encode_command("connect", 1, {"app": APP, "tcUrl": url})
            writer.write(w.write(3, m.COMMAND_AMF0, 0, 0, connect))
            writer.write(w.write(3, m.COMMAND_AMF0, 0, 0, encode_command("createStream", 2, None)))
            writer.write(w.write(8, m.COMMAND_AMF0, 1, 0, encode_command("play", 3, None, f"c{i}")))
            while True:
                data = await reader.read(1 << 18)
                if not data:
                    if run.stop.is_set():
                        return
                    raise ConnectionError("the player was closed")
                run.count("played", len(data))
        finally:
            await close(writer)


def _archive_bytes(root: Path) -> int:
    """Bytes of every segment under a DVR root (a ``.part`` renamed meanwhile is skipped)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for file in files:
            if ".ts" in file:
                with contextlib.suppress(FileNotFoundError):
                    total += os.stat(os.path.join(folder, file)).st_size
    return total


def _loop_share(run: Run) -> str:
    """The event-loop thread's share of the server's CPU since it started (psutil's
    per-thread times): the rest is worker threads (disk writes, the DVR index)."""
    assert run.server.process is not None
    threads = run.server.process.threads()
    total = sum(t.user_time + t.system_time for t in threads)
    main = next((t for t in threads if t.id == run.server.process.pid), None)
    if main is None or not total:
        return "threads unknown"
    share = (main.user_time + main.system_time) / total
    return f"loop thread {share:.0%} of CPU ({len(threads)} threads)"


def _written(run: Run) -> int:
    """Bytes the server process has sent to the storage layer so far (Linux /proc io)."""
    assert run.server.process is not None
    return run.server.process.io_counters().write_bytes


async def published(run: Run, timeout: float) -> None:
    """Wait until every publisher's stream is on the server (or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    names = {run.name(i) for i in range(run.n)}
    while time.monotonic() < deadline and not run.stop.is_set():
        streams = await asyncio.to_thread(run.server.streams, APP + "/")
        if all(streams.get(name, {}).get("alive") for name in names):
            return
        await asyncio.sleep(0.2)


SCENARIO = Rtmp()
