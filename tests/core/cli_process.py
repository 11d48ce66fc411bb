"""Running ``headwater serve`` as a subprocess in tests: start, find its port, stop it."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HEADWATER = str(Path(sys.executable).with_name("headwater"))
"""The console script installed next to the interpreter running the tests."""

OFF = ("rtmp=off", "rtsp=off", "srt=off")


@dataclass
class ServeProcess:
    """A ``headwater serve`` child with its output lines collected as they come."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """The first output line (stdout or stderr) matching ``pattern``."""
        regex = re.compile(pattern)
        for line in self.lines:
            if m := regex.search(line):
                return m
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if m := regex.search(line):
                return m
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "".join(self.lines))

    def http_port(self) -> int:
        """The port of the first HTTP listener, from its ``http listening on`` line."""
        return int(self.wait_for(r"^http listening on 127\.0\.0\.1:(\d+)$").group(1))

    def rest(self) -> str:
        """Every line printed so far and until the end (call after the process ended)."""
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return "".join(self.lines)


def _pump(stream: object, sink: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.put(line)
    sink.put(None)


@contextmanager
def serve(
    data_dir: Path, *args: str, listen: Sequence[str] = OFF, env: dict[str, str] | None = None
) -> Iterator[ServeProcess]:
    """Run ``headwater serve`` with HTTP on 127.0.0.1:0; kill it if the test did not stop it."""
    cmd = [HEADWATER, "serve", "--listen", "http=127.0.0.1:0", "--data-dir", str(data_dir)]
    for item in listen:
        cmd += ["--listen", item]
    cmd += list(args)
    process = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    child = ServeProcess(process)
    threading.Thread(target=_pump, args=(process.stdout, child._queue), daemon=True).start()
    try:
        yield child
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def stop(child: ServeProcess, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
    """Send ``sig`` and return the exit code (raises if it does not exit in time)."""
    child.process.send_signal(sig)
    return child.process.wait(timeout)
