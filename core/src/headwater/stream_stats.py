"""Counters a stream keeps while published: bytes, frames, bitrate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

_WINDOW = 5.0


@dataclass(slots=True)
class StreamStats:
    """Ingest counters of one publication, with a bitrate over the last few seconds."""

    bytes_in: int = 0
    """Payload bytes of the frames received."""
    wire_bytes_in: int = 0
    """Bytes received on the wire (protocol overhead included), as the plugin counted them."""
    frames_in: int = 0
    keyframes_in: int = 0
    started_at: float = 0.0
    """Wall-clock time (seconds since the epoch) the publication started."""
    last_frame_at: float = 0.0
    """Monotonic time of the last frame."""
    last_dts: int = 0
    """DTS of the last frame (90 kHz)."""
    _marks: list[tuple[float, int]] = field(default_factory=list)

    def add(self, size: int, keyframe: bool, now: float, dts: int = 0) -> None:
        """Count one frame of ``size`` payload bytes received at monotonic time ``now``."""
        self.add_many(size, 1, 1 if keyframe else 0, now, dts)

    def add_many(self, size: int, count: int, keyframes: int, now: float, dts: int) -> None:
        """Count ``count`` frames of ``size`` payload bytes in all (``keyframes`` of them
        keyframes, the last at ``dts``) received together at monotonic time ``now``: what
        :meth:`add` for each would count."""
        self.last_dts = dts
        self.bytes_in += size
        self.frames_in += count
        self.keyframes_in += keyframes
        self.last_frame_at = now
        marks = self._marks
        if not marks or now - marks[-1][0] >= 1.0:
            marks.append((now, self.bytes_in))
            if len(marks) > 8:
                del marks[0]

    def bitrate(self, now: float | None = None) -> int:
        """Input bitrate in kbit/s over the last ~5 seconds."""
        marks = self._marks
        if not marks:
            return 0
        now = time.monotonic() if now is None else now
        for t, b in marks:
            if now - t <= _WINDOW + 1.0:
                span = max(now - t, 1e-3)
                if span < 0.5:
                    return 0
                return int((self.bytes_in - b) * 8 / span / 1000)
        return 0
