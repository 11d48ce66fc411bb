"""Where the DVR's recording path spends its CPU, part by part (``bench dvr_write --parts``).

:class:`PartProbe` wraps the functions of each part (the muxing, the recorders' pass
around it, the writer thread's file writes, file creations and index statements) and sums
the calling thread's CPU time (``time.thread_time``) spent in each, so the event loop's
and the worker thread's shares come apart without a sampling profiler. A wrapped call
costs about a microsecond more; there are a few hundred a second at N = 60.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import headwater_dvr.writer as writer_module
from headwater.media.segmenter import Segmenter
from headwater_dvr.index import ArchiveIndex
from headwater_dvr.recorder import DvrRecorder
from headwater_dvr.writer import SegmentWriter

PARTS: dict[str, tuple[Any, str]] = {
    "pass": (DvrRecorder, "poll"),
    "mux": (Segmenter, "feed_many"),
    "writer": (SegmentWriter, "_write"),
    "write": (writer_module, "write_all"),
    "create": (SegmentWriter, "_create"),
    "index_new": (ArchiveIndex, "put_many"),
    "index_commit": (ArchiveIndex, "commit"),
}
"""Each part: the object and the name of the function that does it."""


class PartProbe:
    """Thread CPU seconds and calls of each of :data:`PARTS` (see the module docstring)."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget what was summed so far (the window starts)."""
        self.seconds.clear()
        self.calls.clear()

    def _wrap(self, part: str, func: Callable[..., Any]) -> Callable[..., Any]:
        seconds, calls, clock = self.seconds, self.calls, time.thread_time

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return func(*args, **kwargs)
            finally:
                seconds[part] += clock() - started
                calls[part] += 1

        return timed

    @contextmanager
    def installed(self) -> Iterator[PartProbe]:
        """Wrap every part's function for the duration of the block."""
        saved = [(owner, name, owner.__dict__[name]) for owner, name in PARTS.values()]
        try:
            for part, (owner, name) in PARTS.items():
                setattr(owner, name, self._wrap(part, getattr(owner, name)))
            yield self
        finally:
            for owner, name, original in saved:
                setattr(owner, name, original)

    def summary(self, wall: float) -> dict[str, float]:
        """Milliseconds of CPU a second of ``wall`` for each part, the remainders (the
        recorders' own work around the muxing; the writer thread's closes, renames and
        Python) and the microseconds each file creation took."""
        per = {part: self.seconds[part] * 1000 / wall for part in PARTS}
        per["recorders"] = per.pop("pass") - per["mux"]
        index = per.pop("index_new") + per.pop("index_commit")
        per["index"] = index
        per["writer_other"] = per["writer"] - per["write"] - per["create"] - index
        per["create_us"] = self.seconds["create"] * 1e6 / max(self.calls["create"], 1)
        return per
