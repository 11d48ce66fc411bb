"""Decode timestamps for video that arrives with presentation times only (RTP carries the
pts alone; RFC 6184 section 5.1 leaves decode order to the decoder).

In decode order, B-frames make pts go back and forth; a valid dts is the sequence of the
sorted pts, shifted back far enough that no frame is decoded after it is shown. The shift
is learnt from the first frames (``hold`` + 1 of them): a stream without reordering passes
through at once with ``dts = pts``; a stream with B-frames is held ``hold`` frames deep, so
that each frame's dts (the smallest pts not yet used, minus the shift) is known when it
leaves. Encoders' own dts (libx264: sorted pts minus the reorder delay) come out the same
up to one constant.
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_HOLD = 4
"""Frames held for a stream with B-frames (enough for x264's pyramids and most cameras)."""


class DecodeTimes(Generic[T]):
    """(pts, item) in decode order → (pts, dts, item), dts non-decreasing and ≤ pts."""

    def __init__(self, hold: int = DEFAULT_HOLD) -> None:
        self.hold = hold
        self.reordered: bool | None = None
        """None while probing the first frames, then whether the stream has B-frames."""
        self._window: deque[tuple[int, T]] = deque()
        self._pool: list[int] = []
        self._shift = 0
        self._last: int | None = None

    def push(self, pts: int, item: T) -> list[tuple[int, int, T]]:
        """Take one frame; return the frames whose dts is now known."""
        if self.reordered is False:
            return [self._emit(pts, pts, item)]
        self._window.append((pts, item))
        bisect.insort(self._pool, pts)
        if self.reordered is None:
            if len(self._window) <= self.hold:
                return []
            self._decide()
            if not self.reordered:
                return self._drain_passthrough()
        out = []
        while len(self._window) > self.hold:
            out.append(self._pop())
        return out

    def flush(self) -> list[tuple[int, int, T]]:
        """Every held frame (the stream ended)."""
        if not self._window:
            return []
        if self.reordered is None:
            self._decide()
            if not self.reordered:
                return self._drain_passthrough()
        out = []
        while self._window:
            out.append(self._pop())
        return out

    def _decide(self) -> None:
        pts = [p for p, _ in self._window]
        ordered = sorted(pts)
        self.reordered = pts != ordered
        self._shift = max((o - p for o, p in zip(ordered, pts, strict=True)), default=0)
        self._shift = max(self._shift, 0)

    def _drain_passthrough(self) -> list[tuple[int, int, T]]:
        out = [self._emit(p, p, item) for p, item in self._window]
        self._window.clear()
        self._pool.clear()
        return out

    def _pop(self) -> tuple[int, int, T]:
        pts, item = self._window.popleft()
        return self._emit(pts, self._pool.pop(0) - self._shift, item)

    def _emit(self, pts: int, dts: int, item: T) -> tuple[int, int, T]:
        dts = min(dts, pts)
        last = self._last
        if last is not None and dts < last:
            dts = last
        self._last = dts
        return pts, dts, item
