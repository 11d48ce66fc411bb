"""The RTMP per-message path without sockets, CPU-seconds per GB (issue 3).

The cached 720p H.264 + AAC FLV clip (looped to ``--seconds``) is chunked as a publisher
sends it, then fed to a :class:`ServerSession` ``--batch`` messages per read (what
``read_interval`` gathers); each message goes through :class:`PublishAdapter` (frames), the
stream's fan-out (:meth:`Stream.put` to one subscription), :class:`PlayAdapter` (FLV bodies
for one player) and a player session's chunk writer. Printed: CPU-seconds per GB for the
whole path and for each stage (process time, best of ``--repeat``), so that a change to the
hot path can be measured on its own. ``--profile`` prints the top functions (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import clip
from bench.harness.flv import looped, media_tags
from headwater.stream import Stream
from headwater_rtmp.adapter import PlayAdapter, PublishAdapter
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkReader
from headwater_rtmp.wire.chunk_writer import ChunkWriter
from headwater_rtmp.wire.commands import encode_command
from headwater_rtmp.wire.handshake import SIZE
from headwater_rtmp.wire.session import ServerSession

CHUNK_SIZE = 4096


def publishing_session() -> ServerSession:
    """A server session past handshake, connect and an accepted publish on stream 1."""
    session = ServerSession()
    session.receive_data(b"\x03" + bytes(SIZE) + bytes(SIZE))
    w = ChunkWriter()
    connect = encode_command("connect", 1, {"app": "live"})
    session.receive_data(w.write(3, m.COMMAND_AMF0, 0, 0, connect))
    session.receive_data(w.write(3, m.COMMAND_AMF0, 0, 0, encode_command("createStream", 2, None)))
    session.receive_data(w.write(3, m.COMMAND_AMF0, 1, 0, encode_command("publish", 3, None, "x")))
    session.accept_publish(1)
    session.data_to_send()
    return session


class RtmpCodec:
    """The RTMP server's per-message work, stage by stage."""

    name = "rtmp_codec"
    summary = "RTMP chunk parse / demux / play path, CPU-s/GB without sockets"
    all_argv: tuple[str, ...] = ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Clip, batching, profile."""
        parser.add_argument("--mbps", type=float, default=4.0)
        parser.add_argument("--seconds", type=float, default=20.0, help="media to push through")
        parser.add_argument("--batch", type=int, default=8, help="messages per read")
        parser.add_argument("--profile", action="store_true", help="print the top functions")
        parser.add_argument("--repeat", type=int, default=3, help="runs per stage; best kept")
        parser.add_argument("--size", default="1280x720", help="picture size of the clip")
        parser.add_argument("--clip-seconds", type=float, default=10.0, help="clip length")
        parser.add_argument("--cache-dir", type=Path, help="where clips are kept")

    def run(self, args: argparse.Namespace) -> dict[str, float]:
        """Print CPU-s/GB per stage; return them."""
        print(f"\n### {self.name}: {self.summary}\n", flush=True)
        path = clip("flv", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                    cache=args.cache_dir)  # fmt: skip
        tags = looped(media_tags(path), args.seconds)
        writer = ChunkWriter(CHUNK_SIZE)
        reads: list[bytes] = []
        batch: list[bytes] = []
        for tag in tags:
            csid = m.CSID_VIDEO if tag.kind == m.VIDEO else m.CSID_AUDIO
            batch.append(writer.write(csid, tag.kind, 1, tag.timestamp, tag.data))
            if len(batch) == args.batch:
                reads.append(b"".join(batch))
                batch = []
        reads.append(b"".join(batch))
        total = sum(len(r) for r in reads)
        reader = ChunkReader()
        reader.chunk_size = CHUNK_SIZE
        messages = [msg for r in reads for msg in reader.feed(r)]

        publish_once = PublishAdapter()
        frames = [f for msg in messages for f in publish_once.frames(msg)]

        def everything() -> None:
            session = publishing_session()
            session.reader.chunk_size = CHUNK_SIZE
            player = ServerSession()
            player.writer.chunk_size = CHUNK_SIZE  # as after connect: the server's chunk_size
            stream = Stream("bench")
            stream.begin({})
            sub = stream.open_subscription("player")
            publish, play = PublishAdapter(), PlayAdapter()
            for data in reads:
                for msg in session.receive_data(data):
                    for frame in publish.frames(msg):
                        stream.put(frame)
                for frame in sub.drain():
                    for tag in play.messages(frame):
                        player.send_media(1, tag.kind, tag.timestamp, tag.data)
                player.data_to_send()

        def parse_only() -> None:
            r = ChunkReader()
            r.chunk_size = CHUNK_SIZE
            for data in reads:
                r.feed(data)

        def demux_only() -> None:
            publish = PublishAdapter()
            for msg in messages:
                publish.frames(msg)

        def fan_out_only() -> None:
            stream = Stream("bench")
            stream.begin({})
            sub = stream.open_subscription("player")
            for i, frame in enumerate(frames):
                stream.put(frame)
                if i % args.batch == args.batch - 1:
                    sub.drain()

        def play_only() -> None:
            player, play = ServerSession(), PlayAdapter()
            player.writer.chunk_size = CHUNK_SIZE
            for i, frame in enumerate(frames):
                for tag in play.messages(frame):
                    player.send_media(1, tag.kind, tag.timestamp, tag.data)
                if i % args.batch == args.batch - 1:
                    player.data_to_send()

        stages: list[tuple[str, Callable[[], None]]] = [
            ("whole path", everything),
            ("chunk parse", parse_only),
            ("demux", demux_only),
            ("fan-out", fan_out_only),
            ("play", play_only),
        ]
        print(f"{len(tags)} messages, {total / 1e6:.1f} MB, {args.batch} messages per read")
        figures: dict[str, float] = {}
        for name, fn in stages:
            cpu = float("inf")
            for _ in range(max(args.repeat, 1)):
                t0 = time.process_time()
                fn()
                cpu = min(cpu, time.process_time() - t0)
            figures[name] = cpu / (total / 1e9)
            print(f"{name:>12}: {figures[name]:6.2f} CPU-s/GB", flush=True)
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(everything)
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        return figures


SCENARIO = RtmpCodec()
