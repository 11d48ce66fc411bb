"""Samples a process's RSS while the measuring window runs, and its CPU at both ends.

A thread, so that a busy client event loop in the bench process cannot delay the samples.
"""

from __future__ import annotations

import threading
import time
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


class Sampler:
    """CPU (user + system) between start and stop, RSS every :data:`INTERVAL` seconds."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.window = Window()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._t0 = 0.0
        self._cpu0 = (0.0, 0.0)

    def _cpu(self) -> tuple[float, float]:
        times = self.process.cpu_times()
        return times.user + times.system, times.system

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.window.rss.append(self.process.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(INTERVAL)

    def start(self) -> None:
        """Open the window."""
        self._cpu0 = self._cpu()
        self._t0 = time.monotonic()
        self._thread.start()

    def stop(self) -> Window:
        """Close the window and return its figures."""
        cpu, system = self._cpu()
        self.window.seconds = time.monotonic() - self._t0
        self.window.cpu_seconds = cpu - self._cpu0[0]
        self.window.system_seconds = system - self._cpu0[1]
        self._stop.set()
        self._thread.join(5)
        self.window.rss.append(self.process.memory_info().rss)
        return self.window
