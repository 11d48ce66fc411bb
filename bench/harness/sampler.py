"""Samples a group of processes' RSS while the measuring window runs, and their CPU at
both ends.

A group, because a reference server may be several processes (srt-live-transmit runs one
per caller; their CPU and memory are summed). A thread, so that a busy client event loop
in the bench process cannot delay the samples.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil

INTERVAL = 0.2


@dataclass(slots=True)
class Window:
    """What was measured between :meth:`Sampler.start` and :meth:`Sampler.stop`."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    system_seconds: float = 0.0
    """The kernel's part of ``cpu_seconds`` (socket calls, copies)."""
    rss: list[int] = field(default_factory=list)

    @property
    def rss_peak(self) -> int:
        """The highest RSS sample (bytes)."""
        return max(self.rss, default=0)

    @property
    def rss_mean(self) -> int:
        """The mean of the RSS samples (bytes)."""
        return sum(self.rss) // len(self.rss) if self.rss else 0


def group_cpu(processes: Sequence[psutil.Process]) -> tuple[float, float]:
    """(user + system, system) CPU seconds of ``processes`` so far, summed; a process that
    has gone counts nothing (measure before stopping anything)."""
    total = system = 0.0
    for p in processes:
        try:
            times = p.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
        system += times.system
    return total, system


def group_rss(processes: Sequence[psutil.Process]) -> int:
    """The summed resident set size of ``processes`` (bytes)."""
    rss = 0
    for p in processes:
        try:
            rss += p.memory_info().rss
        except psutil.Error:
            continue
    return rss


class Sampler:
    """CPU (user + system) between start and stop, RSS every :data:`INTERVAL` seconds, of
    one process or a group of them (summed)."""

    def __init__(self, processes: psutil.Process | Sequence[psutil.Process]) -> None:
        self.processes = [processes] if isinstance(processes, psutil.Process) else processes
        self.window = Window()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._t0 = 0.0
        self._cpu0 = (0.0, 0.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.window.rss.append(group_rss(self.processes))
            self._stop.wait(INTERVAL)

    def start(self) -> None:
        """Open the window."""
        self._cpu0 = group_cpu(self.processes)
        self._t0 = time.monotonic()
        self._thread.start()

    def stop(self) -> Window:
        """Close the window and return its figures."""
        cpu, system = group_cpu(self.processes)
        self.window.seconds = time.monotonic() - self._t0
        self.window.cpu_seconds = cpu - self._cpu0[0]
        self.window.system_seconds = system - self._cpu0[1]
        self._stop.set()
        self._thread.join(5)
        self.window.rss.append(group_rss(self.processes))
        return self.window
