"""The SRT transport's clock."""

from __future__ import annotations

import time


def now_us() -> int:
    """Monotonic microseconds (the ``now`` every sans-I/O method takes)."""
    return time.monotonic_ns() // 1000
