"""A real ``headwater serve`` in a child process, on free loopback ports, for one measurement.

The server is started from a generated TOML config whose listeners all bind
``127.0.0.1:0``; the ports are read back from the ``<proto> listening on host:port`` lines
the server prints once bound. Its stdout and stderr go to a log file (never a pipe that
could fill up), which the scenario may read afterwards (SRT loss counters are logged when a
caller leaves). The API (``/streamer/api/v3/streams``) gives the per-stream counters.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from bench.harness.target import TargetProcess

LISTENING = re.compile(r"^(\w+) listening on ([\d.]+):(\d+)\s*$", re.MULTILINE)
START_TIMEOUT = 30.0
API_TIMEOUT = 30.0
"""Seconds an API call may take (a server with hundreds of publishers on a swamped
machine answers slowly)."""


BENCH_CONNECTIONS_PER_IP = 4096
"""``limits.max_connections_per_ip`` of a bench's server (all its clients share one address)."""


def server_config(data_dir: Path, protos: list[str], template: str, sections: str = "") -> str:
    """A TOML config: each of ``protos`` on 127.0.0.1:0, one publish template, extra sections.

    ``template`` is the body of a ``[[templates]]`` table (name, prefixes, inputs, ...).
    Every client of a bench comes from 127.0.0.1, so the per-address connection limit is
    raised to :data:`BENCH_CONNECTIONS_PER_IP` (200 publishers with a player each are
    400 connections from one address, past the default 256), unless ``sections`` sets
    ``[limits]`` itself.
    """
    listeners = "".join(f'{p} = [{{ host = "127.0.0.1", port = 0 }}]\n' for p in protos)
    limits = (
        ""
        if "[limits]" in sections
        else (f"[limits]\nmax_connections_per_ip = {BENCH_CONNECTIONS_PER_IP}\n")
    )
    return (
        f"data_dir = {json.dumps(str(data_dir))}\n"
        f"[listeners]\n{listeners}\n"
        f"[[templates]]\n{template}\n"
        f"{limits}"
        f"{sections}"
    )


class ServerProcess(TargetProcess):
    """``headwater serve`` as a child process; a context manager that always stops it."""

    label = "headwater"

    def __init__(self, template: str, protos: list[str], sections: str = "",
                 log_level: str = "info") -> None:  # fmt: skip
        super().__init__("headwater-bench-")
        self.protos = sorted({*protos, "http"})
        self.config = self.dir / "bench.toml"
        self.config.write_text(server_config(self.dir / "data", self.protos, template, sections))
        self.log_path = self.dir / "server.log"
        self.log_level = log_level
        self.ports: dict[str, int] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.process: psutil.Process | None = None

    def start(self) -> None:
        """Start the server and wait until every listener has announced its port."""
        exe = Path(sys.executable).parent / "headwater"
        cmd = [str(exe), "serve", "--config", str(self.config), "--log-level", self.log_level]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        self.process = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            found = {p: int(port) for p, _h, port in LISTENING.findall(self.log())}
            if all(p in found for p in self.protos):
                self.ports = found
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"headwater serve did not start; its output:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def port(self, proto: str) -> int:
        """The bound port of ``proto``'s listener."""
        return self.ports[proto]

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the server has used so far (all threads)."""
        assert self.process is not None
        times = self.process.cpu_times()
        return times.user + times.system

    def processes(self) -> list[psutil.Process]:
        """The one server process (its threads included)."""
        assert self.process is not None
        return [self.process]

    def rss(self) -> int:
        """The server's resident set size, bytes."""
        assert self.process is not None
        return self.process.memory_info().rss

    def streams(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        """``stats`` of each stream (API), by name, for names starting with ``prefix``."""
        out: dict[str, dict[str, Any]] = {}
        cursor = ""
        while True:
            url = f"http://127.0.0.1:{self.port('http')}/streamer/api/v3/streams?limit=1000"
            if cursor:
                url += f"&cursor={urllib.request.quote(cursor)}"
            with urllib.request.urlopen(url, timeout=API_TIMEOUT) as response:
                page = json.load(response)
            for s in page["streams"]:
                if s["name"].startswith(prefix):
                    out[s["name"]] = s["stats"]
            cursor = page.get("next") or ""
            if not cursor:
                return out
