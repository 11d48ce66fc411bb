"""Benchmark: the RTMP per-message path without sockets (CPU-seconds per GB).

Run: ``.venv/bin/python bench/rtmp_codec.py [--mbps 4] [--seconds 20] [--batch 8] [--profile]``

A 720p H.264 + AAC FLV clip is chunked as a publisher sends it, then fed to a
:class:`ServerSession` ``--batch`` messages per read (what ``read_interval`` gathers); each
message goes through :class:`PublishAdapter` (frames), :class:`PlayAdapter` (FLV bodies for
one player) and the session's chunk writer. Printed: CPU-seconds per GB for the whole path
and for each stage, so a change to the hot path can be measured on its own. ``--profile``
prints the top functions (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

from headwater_rtmp.adapter import PlayAdapter, PublishAdapter
from headwater_rtmp.session import ServerSession
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_stream import ChunkReader, ChunkWriter
from headwater_rtmp.wire.handshake import SIZE

sys.path.insert(0, str(Path(__file__).parent))
from rtmp_ingest import make_clip


def publishing_session() -> ServerSession:
    """A server session past handshake, connect and an accepted publish on stream 1."""
    from headwater_rtmp.wire.commands import encode_command

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


def main() -> None:
    """Make the clip, run each stage, print CPU-s/GB."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mbps", type=float, default=4.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tags = make_clip(Path(tmp) / "clip.flv", args.mbps, args.seconds)
    writer = ChunkWriter(4096)
    reads = []
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
    reader.chunk_size = 4096
    messages = [msg for r in reads for msg in reader.feed(r)]

    def everything() -> None:
        session = publishing_session()
        session.reader.chunk_size = 4096
        publish, play = PublishAdapter(), PlayAdapter()
        for data in reads:
            for msg in session.receive_data(data):
                for frame in publish.frames(msg):
                    for tag in play.messages(frame):
                        session.send_media(1, tag.kind, tag.timestamp, tag.data)
            session.data_to_send()

    def parse_only() -> None:
        r = ChunkReader()
        r.chunk_size = 4096
        for data in reads:
            r.feed(data)

    def demux_only() -> None:
        publish = PublishAdapter()
        for msg in messages:
            publish.frames(msg)

    stages = [("whole path", everything), ("chunk parse", parse_only), ("demux", demux_only)]
    print(f"{len(tags)} messages, {total / 1e6:.1f} MB, {args.batch} messages per read")
    for name, fn in stages:
        t0 = time.process_time()
        fn()
        cpu = time.process_time() - t0
        print(f"{name:>12}: {cpu / (total / 1e9):6.2f} CPU-s/GB")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(everything)
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
