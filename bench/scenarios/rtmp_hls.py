"""RTMP ingest watched over HLS: N real-time RTMP publishers, one HLS reader each (issue 11).

The publishers are those of the ``rtmp`` scenario. Each reader is a small keep-alive
HTTP/1.1 client in the bench process (:class:`KeepAliveClient`: its CPU is not the
server's, and it is kept small so that the bench process keeps pace with 30 publishers
and 30 readers on a busy machine) that does what a player does: it asks for
``/bench/cK/index.m3u8``, then reloads ``mono.m3u8`` and downloads each new segment once,
pacing its reloads as hls.js and ffmpeg do (RFC 8216 6.3.4): after a playlist that listed
a new segment it waits that segment's duration, after an unchanged one half the target
duration, less the time the reload took. Compare the server's CPU with ``--no-players``
(the same publishers, no HLS): the goal is at most 1.3 times. For latency, each reader
notes, for each new segment, how old its first picture is when the reader first sees it
in the playlist (now minus its ``EXT-X-PROGRAM-DATE-TIME``): the least latency a player
reloading at that pace can have; the goal is at most 3 segment durations.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from datetime import datetime

from bench.harness import Run
from bench.scenarios.rtmp import PUBLISH_TIMEOUT, Rtmp, published

_SEGMENT = re.compile(
    r"^#EXT-X-PROGRAM-DATE-TIME:(\S+)\n#EXTINF:([\d.]+),\n(mono-\d+\.ts)$", re.MULTILINE
)
_TARGET = re.compile(r"^#EXT-X-TARGETDURATION:(\d+)$", re.MULTILINE)
HLS_SEGMENT_COUNT = 4
"""The server's ``hls.segment_count`` (its default; the scenario does not set it)."""
_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)\r\n", re.IGNORECASE)
ASYNCIO_READERS_AFTER = 1.5
"""Seconds after the first asyncio publisher that the readers start (ffmpeg publishers:
once every stream is on the server)."""
READERS_START = 1.5
"""Seconds the readers are given for their first requests (each starts its stream's HLS)."""


class RtmpHls(Rtmp):
    """RTMP publishers, one HLS reader per stream."""

    name = "rtmp_hls"
    summary = "RTMP ingest, N real-time publishers, one live HLS reader per stream"
    default_publishers = (1, 10, 30)
    all_argv = ("--publishers", "1", "10", "30")
    references: tuple[str, ...] = ()  # nginx-rtmp serves no HLS here

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The rtmp scenario's flags (asyncio publishers, which this scenario paces) and
        the HLS segment duration."""
        super().add_options(parser)
        parser.set_defaults(client="asyncio")
        parser.add_argument("--segment-duration", type=float, default=2.0,
                            help="the server's hls.segment_duration")  # fmt: skip

    def sections(self, args: argparse.Namespace) -> str:
        """``[rtmp]`` as in the rtmp scenario, and ``[hls]``."""
        return super().sections(args) + f"[hls]\nsegment_duration = {args.segment_duration}\n"

    def prepare(self, args: argparse.Namespace) -> str:
        """The rtmp scenario's clip, looped 30 s longer: a busy bench process paces late."""
        longer = argparse.Namespace(**{**vars(args), "seconds": args.seconds + 30})
        return super().prepare(longer)

    def warmup(self, args: argparse.Namespace, n: int) -> float:
        """Until every stream's HLS holds its whole window of segments (the server's
        ``segment_count`` of 4, one more for late clients, the one being cut), counted
        from when the readers start (:data:`READERS_START` s for their first requests,
        then :meth:`fill` s): the window measures what watching costs from then on, as on
        a server that has run for a while. Before that each HLS cuts its first segment
        and fills its segments' memory for the first time (fresh pages from the kernel, a
        one-off per start). ffmpeg publishers take 10-15 s to appear at N = 30 and the
        readers wait for them, so the window is counted from the readers, not from the
        first publisher (it was, and with ffmpeg it opened about when the HLS started).
        With ``--no-players`` the window opens at the same point of the publishers' life.
        ``--warmup S`` opens it S s after the first publisher, as before."""
        if args.warmup is not None:
            return args.warmup
        readers = getattr(self, "readers_after", None)
        if readers is None:  # before the clients start (prepare): the asyncio figure
            readers = ASYNCIO_READERS_AFTER
        return readers + READERS_START + self.fill(args)

    @staticmethod
    def fill(args: argparse.Namespace) -> float:
        """Seconds an HLS takes to hold its whole window: ``segment_count`` + 2 segments."""
        return (HLS_SEGMENT_COUNT + 2) * args.segment_duration

    async def start_clients(self, run: Run) -> None:
        """Publishers (asyncio by default, ffmpeg with ``--client ffmpeg``); HLS readers
        once the streams exist (with ``--no-players``, the same wait and no readers)."""
        self.ages: list[float] = []
        started = time.monotonic()
        self.readers_after = None
        await self.start_publishers(run)
        if run.args.client == "ffmpeg":  # ffmpeg processes take a while to start
            await published(run, PUBLISH_TIMEOUT + 0.1 * run.n)
        else:
            await asyncio.sleep(ASYNCIO_READERS_AFTER)
        self.readers_after = time.monotonic() - started
        if not run.args.no_players:
            for i in range(run.n):
                run.spawn(i, self.player(run, i), reader=True)

    def notes(self, run: Run, window: float) -> str:
        """What the readers received and how old the newest picture was."""
        # the harness opens the window at the warm-up, or once the clients started
        opened = max(self.warmup(run.args, run.n) - (self.readers_after or 0.0), 0.0)
        if run.args.no_players:
            return f"no HLS readers; window from {opened:.1f} s after the streams were up"
        read = run.counted("played") * 8 / 1e6 / window
        if not self.ages:
            return f"HLS readers read {read:.1f} Mbit/s; no segment seen"
        mean, worst = statistics.fmean(self.ages), max(self.ages)
        target = 3 * run.args.segment_duration
        return (f"HLS readers read {read:.1f} Mbit/s; newest picture {mean:.2f} s old when "
                f"listed (max {worst:.2f} s; goal ≤ {target:g} s); window from {opened:.1f} s "
                "after the readers started")  # fmt: skip

    async def player(self, run: Run, i: int) -> None:
        """Read stream ``i`` over HLS like a player until cancelled at the stop."""
        base = f"/{run.name(i)}/"
        seen: set[str] = set()
        async with KeepAliveClient("127.0.0.1", run.server.port("http")) as client:
            await client.get(base + "index.m3u8")
            while True:
                started = time.monotonic()
                text = (await client.get(base + "mono.m3u8")).decode()
                now = time.time()
                listed = _SEGMENT.findall(text)
                new = [(stamp, uri) for stamp, _duration, uri in listed if uri not in seen]
                for stamp, uri in new:
                    first = not seen
                    seen.add(uri)
                    if not first:  # the first playlist lists segments made before we came
                        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                        self.ages.append(now - when.timestamp())
                    run.count("played", len(await client.get(base + uri)))
                found = _TARGET.search(text)
                target = float(found.group(1)) if found else run.args.segment_duration
                # hls.js and ffmpeg: the last segment's duration after a change, else half
                # the target duration; both count from when the reload was sent
                wait = float(listed[-1][1]) if new and listed else target / 2
                pause = wait - (time.monotonic() - started)
                await asyncio.sleep(max(pause, 0.05))


class KeepAliveClient:
    """GET over one kept-alive HTTP/1.1 connection (reopened when the server closed it);
    a status other than 200, or no answer within ``timeout`` seconds, raises."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def __aenter__(self) -> KeepAliveClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def get(self, path: str) -> bytes:
        """The body of ``GET path``."""
        for attempt in (1, 2):
            if self._streams is None:
                self._streams = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.timeout
                )
            try:
                return await asyncio.wait_for(self._get(path), self.timeout)
            except (asyncio.IncompleteReadError, ConnectionError):
                self._close()  # the server ended an idle connection: once more, anew
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _get(self, path: str) -> bytes:
        assert self._streams is not None
        reader, writer = self._streams
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "User-Agent: headwater-bench\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        found = _LENGTH.search(head)
        if found is None:
            raise RuntimeError(f"GET {path}: no Content-Length in {head[:200]!r}")
        body = await reader.readexactly(int(found.group(1)))
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        return body


SCENARIO = RtmpHls()
