"""What a benchmark run reports: one :class:`Row` per N, printed as a markdown table.

Every ingest scenario prints the same columns so that protocols can be compared line by
line; what a column means is written once, in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

COLUMNS = (
    "server",
    "N",
    "Mbit/s in",
    "server CPU %",
    "CPU-s/GB",
    "ratio",
    "RSS/stream MB",
    "connected",
    "drops/loss",
    "load",
    "notes",
)


@dataclass(slots=True)
class Row:
    """The figures of one measuring window with ``n`` concurrent publishers."""

    n: int
    window: float
    """Wall-clock seconds of the measuring window."""
    bytes_in: int
    """Bytes the server counted on the wire over the window (API ``wire_bytes_in``)."""
    cpu_seconds: float
    """Server user + system CPU seconds over the window."""
    system_seconds: float
    """The kernel's part of ``cpu_seconds``."""
    rss_baseline: int
    """Server RSS (bytes) while idle, before the publishers."""
    rss_peak: int
    """Highest server RSS sampled during the window."""
    rss_mean: int
    """Mean server RSS sampled during the window."""
    connected: int
    """Publishers (with their players) alive and ingesting at the end of the window."""
    drops_loss: str
    load: tuple[float, float, float]
    """``os.getloadavg()`` at the end of the window."""
    notes: str = ""
    errors: list[str] = field(default_factory=list)
    """First few client errors, for the reader to see why something was not connected."""
    server: str = "headwater"
    """Which server was measured: headwater or a reference (nginx-rtmp, ...)."""
    ratio: float | None = None
    """CPU-s/GB over the reference server's at the same N, when one was measured."""
    runs: list[float] = field(default_factory=list)
    """CPU-s/GB of every repeat this (median) row was chosen from."""

    @property
    def mbit_in(self) -> float:
        """Ingest rate of all publishers together, Mbit/s."""
        return self.bytes_in * 8 / 1e6 / self.window if self.window else 0.0

    @property
    def cpu_percent(self) -> float:
        """Server CPU as a percentage of one core."""
        return self.cpu_seconds / self.window * 100 if self.window else 0.0

    @property
    def cpu_per_gb(self) -> float:
        """Server CPU-seconds per GB (1e9 bytes) ingested; NaN when nothing came in."""
        return self.cpu_seconds / (self.bytes_in / 1e9) if self.bytes_in else float("nan")

    @property
    def kernel_share(self) -> float:
        """The kernel's share of the server CPU (system / (user + system))."""
        return self.system_seconds / self.cpu_seconds if self.cpu_seconds else 0.0

    @property
    def rss_per_stream_mb(self) -> float:
        """(peak RSS during the window - idle RSS) / N, in MB (1e6 bytes)."""
        return (self.rss_peak - self.rss_baseline) / self.n / 1e6 if self.n else 0.0

    def cells(self) -> list[str]:
        """The row's values in :data:`COLUMNS` order."""
        return [
            self.server,
            str(self.n),
            f"{self.mbit_in:.1f}",
            f"{self.cpu_percent:.1f}",
            f"{self.cpu_per_gb:.2f}",
            "" if self.ratio is None else f"{self.ratio:.2f}x",
            f"{self.rss_per_stream_mb:.2f}",
            f"{self.connected}/{self.n}",
            self.drops_loss,
            " ".join(f"{x:.2f}" for x in self.load),
            "; ".join(x for x in (f"{self.kernel_share:.0%} kernel", self.notes) if x),
        ]

    def to_json(self) -> dict[str, Any]:
        """The raw fields plus the derived figures, for ``--json``."""
        out = asdict(self)
        out.update(
            mbit_in=self.mbit_in,
            cpu_percent=self.cpu_percent,
            cpu_per_gb=self.cpu_per_gb,
            rss_per_stream_mb=self.rss_per_stream_mb,
        )
        return out


def table_header() -> str:
    """The markdown header and separator lines of a results table."""
    return "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS)


def table_line(row: Row) -> str:
    """One markdown table line (printed as soon as its N is measured)."""
    return "| " + " | ".join(c.replace("|", "/") for c in row.cells()) + " |"


def load_text() -> str:
    """The load averages as ``uptime`` prints them (the 2 cores are shared)."""
    return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """CPU model, core count, OS and Python, for the line above each table."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {sys.version.split()[0]}, {loop}"
    )
