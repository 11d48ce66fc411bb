"""srt-live-transmit (libsrt, Debian's ``srt-tools``) as the reference SRT receiver.

Its users run one process per stream: ``srt-live-transmit "srt://:PORT?mode=listener&
passphrase=..." file://con``. So the target is N processes, one per caller, each a
listener on its own free loopback UDP port with the same passphrase and key length as
headwater's, writing what it receives to ``/dev/null``; their CPU and RSS are summed.
Each prints its cumulative statistics (``-s 100 -f -pf json``: every 100 packets, about
four times a second at 4 Mbit/s) to a file of its own; the last line gives the bytes
received (payload) and the loss counters the harness reads. At a window edge the counters
are at most 100 packets old, the same at both edges, so the window's byte count is off by
well under one per cent.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from typing import Any

import psutil

from bench.harness.free_port import free_ports
from bench.harness.target import TargetProcess

STATS_EVERY = 100
"""Packets between two statistics lines of each process."""


def slt_exe() -> str | None:
    """The srt-live-transmit binary, or None when it is not installed."""
    return shutil.which("srt-live-transmit")


def installed() -> bool:
    """srt-live-transmit is installed."""
    return slt_exe() is not None


class SrtLiveTransmit(TargetProcess):
    """N srt-live-transmit listeners; a context manager that always stops them."""

    label = "srt-live-transmit"

    def __init__(self, n: int, names: list[str], passphrase: str | None, pbkeylen: int,
                 latency_ms: int | None = None) -> None:  # fmt: skip
        exe = slt_exe()
        if exe is None:
            raise RuntimeError("srt-live-transmit (srt-tools) is not installed")
        self.exe = exe
        self.n = n
        self.names = names
        super().__init__("headwater-bench-slt-")
        self.srt_ports = free_ports(n, socket.SOCK_DGRAM)
        query = ["mode=listener"]
        if passphrase:
            query += [f"passphrase={passphrase}", f"pbkeylen={pbkeylen}"]
        if latency_ms is not None:
            query.append(f"latency={latency_ms}")
        self.query = "&".join(query)
        self.procs: list[subprocess.Popen[bytes]] = []
        self._processes: list[psutil.Process] = []

    def start(self) -> None:
        """Start the N listeners; fail when one of them exits at once."""
        for i, port in enumerate(self.srt_ports):
            cmd = [self.exe, "-q", "-s", str(STATS_EVERY), "-f", "-pf", "json",
                   "-statsout", str(self.dir / f"stats{i}.json"),
                   f"srt://127.0.0.1:{port}?{self.query}", "file://con"]  # fmt: skip
            with open(self.dir / f"log{i}.txt", "wb") as log:
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
            self.procs.append(proc)
            self._processes.append(psutil.Process(proc.pid))
        time.sleep(0.3)
        dead = [i for i, p in enumerate(self.procs) if p.poll() is not None]
        if dead:
            self.stop()
            raise RuntimeError(f"srt-live-transmit did not start:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM each, then SIGKILL after 10 s; safe to call twice."""
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)

    def log(self) -> str:
        """What the processes wrote to stderr."""
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("log*.txt")))

    def srt_port(self, i: int) -> int:
        """The port caller ``i`` connects to."""
        return self.srt_ports[i]

    def processes(self) -> list[psutil.Process]:
        """The N processes."""
        return self._processes

    def rss(self) -> int:
        """The summed resident set size, bytes."""
        total = 0
        for p in self._processes:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _last_stats(self, i: int) -> dict[str, Any] | None:
        path = self.dir / f"stats{i}.json"
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            try:
                return json.loads(line)
            except ValueError:  # a line being written
                continue
        return None

    def streams(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Per caller (named like headwater's streams): payload bytes received, alive (the
        process runs and has received), the loss counters."""
        out: dict[str, dict[str, Any]] = {}
        for i, name in enumerate(self.names):
            if not name.startswith(prefix):
                continue
            stats = self._last_stats(i)
            recv = stats["recv"] if stats else {}
            out[name] = {
                "wire_bytes_in": recv.get("bytes", 0),
                "alive": self.procs[i].poll() is None and bool(recv.get("packets")),
                "online_clients": 0,
                "drops": 0,
                "srt_packets": recv.get("packets", 0),
                "srt_lost": recv.get("packetsLost", 0),
                "srt_late": recv.get("packetsDropped", 0),
                "srt_retransmitted": recv.get("packetsRetransmitted", 0),
            }
        return out
