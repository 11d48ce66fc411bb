"""RTMP ingest: N real-time publishers, each watched by one RTMP player (issue 3).

Publishers and players are asyncio clients in the bench process (their CPU is not the
server's). A publisher does the real handshake / connect / publish exchange with
headwater's own :class:`ClientSession`, then sends the chunked FLV messages of the cached
clip, one write per message when its timestamp is due (as ``ffmpeg -re`` does); the
messages are chunked once and shared by every publisher. A player connects, plays
``bench/cK`` and reads everything. Target at N = 60: ≤ 7 CPU-s/GB and ≤ 3 MB per stream.
Where nginx with its RTMP module is installed, the clip line says so (measure it by hand
with the same clients; see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time

from bench.harness import IngestScenario, Run, clip
from bench.harness.flv import looped, media_tags
from bench.harness.streams import close, sleep_or_stop
from headwater_rtmp.wire import events as ev
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkWriter
from headwater_rtmp.wire.client_session import ClientSession
from headwater_rtmp.wire.commands import encode_command

CHUNK_SIZE = 4096
APP = "bench"
HANDSHAKE = 1536


class Rtmp(IngestScenario):
    """RTMP ingest with N real-time publishers and one player per stream."""

    name = "rtmp"
    summary = "RTMP ingest, N real-time publishers, one RTMP player per stream"
    protos = ("rtmp",)
    default_publishers = (1, 10, 30, 60)
    all_argv = ("--publishers", "1", "10", "30", "60")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Server tuning knobs and the players switch."""
        parser.add_argument("--read-interval", type=float, help="the server's rtmp.read_interval")
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
        """An ``[rtmp]`` section with the intervals given on the command line."""
        knobs = {"read_interval": args.read_interval, "play_interval": args.play_interval}
        return "[rtmp]\n" + "".join(f"{k} = {v}\n" for k, v in knobs.items() if v is not None)

    def warmup(self, args: argparse.Namespace, n: int) -> float:
        """Publishers, then players half-way, then the window (3 s by default)."""
        return args.warmup if args.warmup is not None else 3.0

    def prepare(self, args: argparse.Namespace) -> str:
        """Chunk the clip's messages once, long enough for warm-up + window + stop."""
        path = clip("flv", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                    cache=args.cache_dir)  # fmt: skip
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
        nginx = "installed" if _has_nginx_rtmp() else "not installed"
        return f"{path.name} looped, {rate:.1f} Mbit/s per publisher; nginx-rtmp {nginx}"

    async def start_clients(self, run: Run) -> None:
        """Publishers; players once the streams exist (half the warm-up later)."""
        self.io_start = (time.monotonic(), _written(run))
        for i in range(run.n):
            run.spawn(i, self.publisher(run, i))
        if not run.args.no_players:
            await asyncio.sleep(self.warmup(run.args, run.n) / 2)
            for i in range(run.n):
                run.spawn(i, self.player(run, i), reader=True)

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
            archive = sum(p.stat().st_size for p in root.rglob("*.ts*"))
            ingested = sum(s["wire_bytes_in"] for s in run.server.streams(APP + "/").values())
            notes += f"; dvr writes {rate:.1f} MB/s, archive/ingest {archive / ingested:.3f}"
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
            await asyncio.wait_for(reader.readexactly(1 + 2 * HANDSHAKE), 10)
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


def _written(run: Run) -> int:
    """Bytes the server process has sent to the storage layer so far (Linux /proc io)."""
    assert run.server.process is not None
    return run.server.process.io_counters().write_bytes


def _has_nginx_rtmp() -> bool:
    try:
        out = subprocess.run(["nginx", "-V"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "rtmp" in out.stderr


SCENARIO = Rtmp()
