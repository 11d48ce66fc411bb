"""The RTSP/TCP per-packet path without sockets, CPU-seconds per GB (issue 9).

What a real ffmpeg sends when it publishes the cached 720p H.264 + AAC clip over RTSP/TCP
(``-c copy -f rtsp -rtsp_transport tcp``: its requests, then interleaved RTP and RTCP) is
captured once through a relay in front of a real server and kept beside the clip. That
byte stream, looped to ``--seconds`` of media, is cut into reads of ``--read-bytes`` (what
``read_interval`` gathers at 4 Mbit/s is about 50 KB) and fed to the sans-I/O path of a
connection does: the one pass of :meth:`PublishAdapter.interleaved` over each read (the
message reader only for a frame a read cut), down to the core's frames. Printed:
CPU-seconds per GB and microseconds per packet for the whole path, for the message reader
alone, and for the same packets handed over one by one (the general path), so that a change
to the per-packet path can be measured on its own, without the noise of ffmpeg processes
and other users of the machine. ``--profile`` prints the top functions (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from bench.harness import clip
from headwater.media.rtp.rtcp import SR
from headwater_rtsp.adapter import PublishAdapter
from headwater_rtsp.wire.message import MessageReader, Request
from headwater_rtsp.wire.session import Announce, RecordStarted, ServerSession

CAPTURE_SUFFIX = ".rtsp-tcp.bin"


async def _relay(target: int, sink: bytearray, *, task_status: Any) -> None:
    """Accept one client, forward both ways, keep what the client sent."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    task_status.started(listener.extra(anyio.abc.SocketAttribute.local_port))

    async def handle(client: Any) -> None:
        async with client, await anyio.connect_tcp("127.0.0.1", target) as server:

            async def up() -> None:
                async for chunk in client:
                    sink.extend(chunk)
                    await server.send(chunk)
                await server.send_eof()

            async def down() -> None:
                async for chunk in server:
                    await client.send(chunk)

            async with anyio.create_task_group() as tg:
                tg.start_soon(up)
                tg.start_soon(down)

    await listener.serve(handle)


async def _capture(source: Path) -> bytes:
    from headwater.testing import run_ffmpeg, running_server

    sink = bytearray()
    async with running_server(protocols=("rtsp",)) as hw, anyio.create_task_group() as tg:
        port = await tg.start(_relay, hw.port("rtsp"), sink)
        url = f"rtsp://127.0.0.1:{port}/live/bench"
        await run_ffmpeg(["-i", str(source), "-c", "copy", "-f", "rtsp", "-rtsp_transport",
                          "tcp", url], timeout=120)  # fmt: skip
        await anyio.sleep(0.5)
        tg.cancel_scope.cancel()
    return bytes(sink)


def capture(source: Path) -> bytes:
    """What ffmpeg sends publishing ``source`` over RTSP/TCP (made once, kept beside it)."""
    path = source.with_name(source.stem + CAPTURE_SUFFIX)
    if not path.exists():
        data = anyio.run(_capture, source)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path.read_bytes()


def split_capture(data: bytes) -> tuple[list[Request], bytes]:
    """The requests up to RECORD, and the interleaved frames after it (whole frames)."""
    reader = MessageReader()
    requests: list[Request] = []
    pos = 0
    while not requests or requests[-1].method != "RECORD":
        end = data.index(b"\r\n\r\n", pos) + 4
        head = data[pos:end]
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        end += length
        (request,) = reader.feed(data[pos:end])
        assert isinstance(request, Request)
        requests.append(request)
        pos = end
    media = bytearray()
    while pos + 4 <= len(data) and data[pos] == 0x24:
        end = pos + 4 + struct.unpack_from("!H", data, pos + 2)[0]
        if end > len(data):
            break
        media += data[pos:end]
        pos = end
    return requests, bytes(media)


def looped(media: bytes, times: int) -> bytes:
    """The interleaved frames ``times`` over, RTP sequence numbers and timestamps carried on
    so that every loop continues the one before (as ``-stream_loop`` would)."""
    out = bytearray()
    # per channel: last sequence, last timestamp, increment per loop
    frames: list[tuple[int, int, int]] = []
    pos = 0
    while pos < len(media):
        length = struct.unpack_from("!H", media, pos + 2)[0]
        frames.append((media[pos + 1], pos, pos + 4 + length))
        pos += 4 + length
    first: dict[int, tuple[int, int]] = {}
    last: dict[int, tuple[int, int]] = {}
    for channel, start, end in frames:
        if channel % 2 == 0 and end - start >= 16:
            seq, ts = struct.unpack_from("!HI", media, start + 6)
            first.setdefault(channel, (seq, ts))
            last[channel] = (seq, ts)
    for n in range(times):
        for channel, start, end in frames:
            if channel % 2 or end - start < 16:
                if channel % 2 and media[start + 5] == SR:
                    continue  # sender reports of the first loop would not fit later ones
                out += media[start:end]
                continue
            frame = bytearray(media[start:end])
            seq, ts = struct.unpack_from("!HI", frame, 6)
            seq0, ts0 = first[channel]
            seq1, ts1 = last[channel]
            step_seq, step_ts = seq1 - seq0 + 1, ts1 - ts0 + 3000
            struct.pack_into(
                "!HI", frame, 6, (seq + n * step_seq) & 0xFFFF, (ts + n * step_ts) & 0xFFFFFFFF
            )
            out += frame
    return bytes(out)


def publishing(requests: list[Request]) -> tuple[ServerSession, dict[int, tuple[int, bool]]]:
    """A session driven through the captured requests up to RECORD, and its channels."""
    session = ServerSession()
    channels: dict[int, tuple[int, bool]] = {}
    for request in requests:
        if "Session" in request.headers:
            request.headers["Session"] = session.session_id
        response, event = session.receive(request)
        if isinstance(event, Announce):
            response = session.accept_announce(request)
        assert response is not None and response.status == 200, (request.method, response)
        if isinstance(event, RecordStarted):
            for m in event.media:
                channels[m.channels[0]] = (m.index, False)
                channels[m.channels[1]] = (m.index, True)
    return session, channels


def routed(formats: list[Any], channels: dict[int, tuple[int, bool]]) -> PublishAdapter:
    """A publish adapter with the session's interleaved channels (as RECORD sets it up)."""
    adapter = PublishAdapter(formats)
    for channel, (index, rtcp) in channels.items():
        adapter.route(channel, index, rtcp)
    return adapter


class RtspCodec:
    """The RTSP/TCP publisher's per-packet work, stage by stage."""

    name = "rtsp_codec"
    summary = "RTSP/TCP interleaved parse / depacketize path, CPU-s/GB without sockets"
    all_argv: tuple[str, ...] = ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Clip, read size, profile."""
        parser.add_argument("--mbps", type=float, default=4.0)
        parser.add_argument("--seconds", type=float, default=30.0, help="media to push through")
        parser.add_argument("--read-bytes", type=int, default=48 << 10, help="bytes per read")
        parser.add_argument("--repeat", type=int, default=3, help="runs per stage (best kept)")
        parser.add_argument("--profile", action="store_true", help="print the top functions")
        parser.add_argument("--size", default="1280x720", help="picture size of the clip")
        parser.add_argument("--clip-seconds", type=float, default=10.0, help="clip length")
        parser.add_argument("--cache-dir", type=Path, help="where clips are kept")

    def run(self, args: argparse.Namespace) -> dict[str, float]:
        """Print CPU-s/GB per stage; return them."""
        print(f"\n### {self.name}: {self.summary}\n", flush=True)
        path = clip("flv", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                    cache=args.cache_dir)  # fmt: skip
        requests, media = split_capture(capture(path))
        times = max(1, round(args.seconds / args.clip_seconds))
        stream = looped(media, times)
        step = args.read_bytes
        reads = [stream[i : i + step] for i in range(0, len(stream), step)]
        total = len(stream)
        session, channels = publishing(requests)
        packets = MessageReader().feed_packets(stream)[0]
        counts = {"frames": 0}

        def everything() -> None:
            reader = MessageReader()
            adapter = routed(session.received, channels)
            frames = 0
            for data in reads:  # what Connection.data_received does with each read
                pos = 0
                if reader.buffered:
                    frame, pos = reader.finish_frame(data)
                    if frame is not None:
                        frames += len(adapter.packet(frame[0], frame[1], 1.0))
                if not reader.buffered:
                    got, pos = adapter.interleaved(data, 1.0, pos)
                    frames += len(got)
                if pos < len(data):
                    packets, rest = reader.feed_packets(data[pos:], 1.0)
                    for channel, packet in [*packets, *rest]:  # type: ignore[misc]
                        frames += len(adapter.packet(channel, packet, 1.0))
            frames += len(adapter.flush())
            counts["frames"] = frames

        def parse_only() -> None:
            reader = MessageReader()
            for data in reads:
                reader.feed_packets(data, 1.0)

        def packet_by_packet() -> None:
            adapter = routed(session.received, channels)
            for channel, packet in packets:
                adapter.packet(channel, packet, 1.0)

        stages: list[tuple[str, Callable[[], None]]] = [
            ("whole path", everything),
            ("reader alone", parse_only),
            ("packet by packet", packet_by_packet),
        ]
        count = sum(1 for e in packets)
        print(f"{count} interleaved packets, {total / 1e6:.1f} MB, {step} bytes per read")
        figures: dict[str, float] = {}
        for name, fn in stages:
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.process_time()
                fn()
                best = min(best, time.process_time() - t0)
            figures[name] = best / (total / 1e9)
            print(f"{name:>18}: {figures[name]:6.2f} CPU-s/GB, "
                  f"{best / count * 1e6:5.2f} µs per packet", flush=True)  # fmt: skip
        print(f"{counts['frames']} frames out")
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(everything)
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        return figures


SCENARIO = RtspCodec()
