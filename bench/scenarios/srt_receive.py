"""The SRT receive path on its own, CPU-s/GB on one core, no sockets (issue 14).

N callers (:class:`bench.harness.srt_caller.SrtCaller`, AES-128 by default) publish the
cached 4 Mbit/s TS clip, cut into packets as ffmpeg cuts it, to one
:class:`headwater_srt.server.SRTPort` whose UDP socket is replaced by a queue: their
datagrams are made beforehand in arrival order (a virtual clock, each caller's packets at
the clip's rate, the callers' starts spread over one packet interval), then the server's
own code runs on them as its timer loop would: every 2.5 ms of virtual time the port
drains what arrived, every 10 ms it ticks (ACK/NAK/TSBPD) and hands payload to the
sessions of that tick's phase, and each session's payload goes through the TS demuxer
(:class:`headwater.media.mpegts.TSReader`), as in the publish path (frames are counted,
not published). ``--loss P`` drops every P-th packet on its way and delivers its
retransmission 30 ms later.

Printed: CPU-s per GB of TS delivered (``time.process_time``, the best of ``--repeat``),
µs per packet, and whether every caller's delivered bytes equal what it sent. With
``--profile`` the best run's top functions by self time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import inspect
import os
import pstats
import time
from collections import deque
from pathlib import Path
from typing import Any

from bench.harness import clip
from bench.harness.srt_caller import PreparedClip, SrtCaller, cut_like_ffmpeg
from headwater.media.mpegts import TSReader
from headwater_srt import server as srt_server
from headwater_srt.caller import Caller
from headwater_srt.wire.endpoint import Endpoint

PASSPHRASE = "bench-passphrase-0123"
POLL = 2_500
TICK = 10_000
PORT = 9000
PHASED = "phase" in inspect.signature(srt_server.SRTPort.tick).parameters


class _Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class _QueueSocket:
    """What SRTPort needs of a UDP socket, fed from a queue."""

    def __init__(self) -> None:
        self.queue: deque[tuple[bytes, tuple[str, int]]] = deque()
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def recvfrom(self, size: int) -> tuple[bytes, tuple[str, int]]:
        if not self.queue:
            raise BlockingIOError
        return self.queue.popleft()

    def recvfrom_into(self, buffer: Any, size: int = 0) -> tuple[int, tuple[str, int]]:
        if not self.queue:
            raise BlockingIOError
        data, addr = self.queue.popleft()
        n = len(data)
        buffer[:n] = data
        return n, addr

    def sendto(self, data: bytes, addr: tuple[str, int]) -> int:
        self.sent.append((data, addr))
        return len(data)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", PORT)

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass


class _QueueReader:
    """What SRTPort needs of a :class:`headwater_srt.datagrams.DatagramReader`, fed from
    the same queue: the datagrams are copied into its rows as ``recvmmsg`` copies them."""

    def __init__(self, sock: _QueueSocket) -> None:
        from headwater_srt.datagrams import BATCH, DatagramReader

        self.queue = sock.queue
        self.inner = DatagramReader(-1, BATCH)
        self.count = BATCH
        self.rows = self.inner.rows
        self.lengths, self.peers = self.inner.lengths, self.inner.peers
        self.dests = self.inner.dests
        self.keys: dict[tuple[str, int], int] = {}
        self.senders: list[tuple[str, int]] = [("", 0)] * BATCH

    def read(self) -> int:
        from headwater_srt.datagrams import SLOT, peer_key

        queue, base = self.queue, ctypes.addressof(self.rows)
        got = min(len(queue), self.count)
        lengths, peers = [0] * got, [0] * got
        for i in range(got):
            data, addr = queue.popleft()
            lengths[i] = n = len(data)
            ctypes.memmove(base + i * SLOT, data, n)
            key = self.keys.get(addr)
            if key is None:
                key = self.keys[addr] = peer_key(addr)
            peers[i] = key
            self.senders[i] = addr
        self.lengths[:got] = lengths
        self.peers[:got] = peers
        return got

    def address(self, i: int) -> tuple[str, int]:
        return self.senders[i]


class _Service:
    """The parts of SRTService a port calls: callers are accepted at once, payload goes
    to a TS reader per session."""

    def __init__(self, passphrase: str | None) -> None:
        self.passphrase = passphrase
        self.readers: dict[int, TSReader] = {}
        self.received: dict[int, int] = {}
        self.frames = 0
        self.chunks: dict[int, list[bytes]] = {}
        self.keep = False

    def spawn(self, caller: Caller) -> None:
        session = caller.accept(self.passphrase)
        sid = session.connection.info.peer_socket_id
        reader = self.readers[sid] = TSReader()
        self.received[sid] = 0
        self.chunks[sid] = []
        kept = self.chunks[sid]

        def deliver(data: bytes) -> None:
            self.received[sid] += len(data)
            if self.keep:
                kept.append(data)
            self.frames += len(reader.feed(data))

        session.deliver = deliver  # type: ignore[method-assign]
        session.finish = lambda: None  # type: ignore[method-assign]

    def wake(self) -> None:
        pass

    def activate(self, port: Any) -> None:
        pass


def build(args: argparse.Namespace, ts: bytes) -> tuple[Any, ...]:
    """Connect N callers to a port and make their datagrams in arrival order."""
    clock = _Clock()
    srt_server.now_us = clock  # type: ignore[assignment]
    passphrase = PASSPHRASE if args.pbkeylen else None
    key_length = args.pbkeylen or 16
    prepared = PreparedClip(ts, args.clip_seconds, args.seconds + 1, passphrase, key_length)
    sock = _QueueSocket()
    service = _Service(passphrase)
    port = srt_server.SRTPort(service, sock, Endpoint(latency_ms=120))  # type: ignore[arg-type]
    if hasattr(port, "reader") and not args.recvfrom:  # batch reads (the code since srt-lean2)
        port.reader = _QueueReader(sock)
    callers = []
    for i in range(args.publishers):
        c = SrtCaller(prepared, f"#!::r=bench/c{i},m=publish", 0x100 + i)
        addr = ("127.0.0.1", 20000 + i)
        pending = c.connect(clock.now)
        while c.state not in ("connected", "refused"):
            for d in pending:
                sock.queue.append((d, addr))
            port.drain()
            pending = []
            for d, a in sock.sent:
                if a == addr:
                    pending += c.receive(d, clock.now)
            sock.sent.clear()
            clock.now += 1000
        assert c.state == "connected", c.reason
        callers.append((c, addr))
    # every caller's data packets, in arrival order, with a lossy link when asked
    events: list[tuple[int, bytes, tuple[str, int]]] = []
    end = clock.now + int(args.seconds * 1e6)
    spread = prepared.interval / max(len(callers), 1)
    total = 0
    for j, (c, addr) in enumerate(callers):
        c.data_start = clock.now + int(j * spread)
        t = c.data_start
        n = 0
        while t < end:
            d = c._data(n, t, 0)
            c.sent = n + 1
            if args.loss and n % args.loss == args.loss // 2:
                rexmit = c._data(n, t, 0x0400_0000)
                events.append((t + 30_000, rexmit, addr))
            else:
                events.append((t, d, addr))
            total += len(d) - 16
            n += 1
            t = c.data_start + int(n * prepared.interval)
    events.sort(key=lambda e: e[0])
    return clock, sock, service, port, callers, events, total, prepared


def feed(clock: _Clock, sock: _QueueSocket, port: Any, events: list[Any], end: int) -> None:
    """Run the port as the server's timer loop would, over the events."""
    i, n = 0, len(events)
    ticks = 0
    next_tick = clock.now + TICK
    queue = sock.queue
    while clock.now < end:
        clock.now += POLL
        now = clock.now
        while i < n and events[i][0] <= now:
            _t, d, a = events[i]
            queue.append((d, a))
            i += 1
        port.drain()
        if now >= next_tick:
            next_tick += TICK
            ticks += 1
            if PHASED:
                port.tick(now, True, ticks % 4)
            else:  # the code before hand-over phases (for before/after runs)
                port.tick(now, ticks % 4 == 0)
        sock.sent.clear()


class SrtReceive:
    """The SRT receive path fed without sockets."""

    name = "srt_receive"
    summary = "SRT receive path + TS demux, CPU-s/GB on one core, no sockets"
    all_argv: tuple[str, ...] = ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Callers, seconds, loss, key length, repeats, profile."""
        parser.add_argument("--publishers", type=int, default=30, help="callers")
        parser.add_argument("--seconds", type=float, default=5.0, help="virtual seconds fed")
        parser.add_argument("--mbps", type=float, default=4.0, help="video bitrate of the clip")
        parser.add_argument("--size", default="1280x720", help="picture size of the clip")
        parser.add_argument("--clip-seconds", type=float, default=10.0, help="clip length")
        parser.add_argument("--pbkeylen", type=int, default=16, choices=[0, 16, 24, 32])
        parser.add_argument("--loss", type=int, default=0, help="lose every P-th packet once")
        parser.add_argument("--repeat", type=int, default=3, help="runs; the best counts")
        parser.add_argument("--profile", action="store_true", help="cProfile the last run")
        parser.add_argument("--recvfrom", action="store_true",
                            help="read one datagram per call, as without recvmmsg")  # fmt: skip
        parser.add_argument("--cache-dir", type=Path, help="where clips are kept")

    def run(self, args: argparse.Namespace) -> dict[str, float]:
        """Print the figures; return them (the port's clock is virtual meanwhile)."""
        saved = srt_server.now_us
        try:
            return self._run(args)
        finally:
            srt_server.now_us = saved  # type: ignore[assignment]

    def _run(self, args: argparse.Namespace) -> dict[str, float]:
        print(f"\n### {self.name}: {self.summary}\n", flush=True)
        path = clip("mpegts", mbps=args.mbps, seconds=args.clip_seconds, size=args.size,
                    cache=args.cache_dir)  # fmt: skip
        ts = path.read_bytes()
        print(f"- clip: {path.name}, {args.publishers} callers, {args.seconds:g} s, "
              f"{f'AES-{args.pbkeylen * 8}' if args.pbkeylen else 'unencrypted'}, "
              f"loss 1/{args.loss or '∞'}; load {os.getloadavg()[0]:.2f}")  # fmt: skip
        best = float("inf")
        exact = True
        packets = total = 0
        for r in range(max(args.repeat, 1)):
            clock, sock, service, port, callers, events, total, prepared = build(args, ts)
            service.keep = r == 0
            end = events[-1][0] + 1_000_000
            profiler = cProfile.Profile() if args.profile and r == args.repeat - 1 else None
            start = time.process_time()
            if profiler:
                profiler.enable()
            feed(clock, sock, port, events, end)
            if profiler:
                profiler.disable()
            spent = time.process_time() - start
            best = min(best, spent)
            packets = len(events)
            if r == 0:
                for c, _addr in callers:
                    sent = b"".join(prepared_plain(prepared, ts, c.sent))
                    got = b"".join(service.chunks[c.socket_id])
                    exact = exact and got == sent
        delivered = sum(service.received.values())
        print(f"- delivered {delivered / 1e6:.1f} MB of {total / 1e6:.1f} MB sent; "
              f"byte-exact: {'yes' if exact else 'NO'}; frames {service.frames}")  # fmt: skip
        print(f"- CPU: {best:.3f} s (best of {args.repeat}) = {best / (total / 1e9):.2f} CPU-s/GB, "
              f"{best / packets * 1e6:.2f} µs per packet", flush=True)  # fmt: skip
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(18)
        return {"cpu_s_per_gb": best / (total / 1e9), "us_per_packet": best / packets * 1e6,
                "byte_exact": float(exact)}  # fmt: skip


def prepared_plain(prepared: PreparedClip, ts: bytes, count: int) -> list[bytes]:
    """The clean payloads a caller sent (its first ``count`` packets)."""
    chunks = cut_like_ffmpeg(ts)
    return [chunks[k % len(chunks)] for k in range(count)]


SCENARIO = SrtReceive()
