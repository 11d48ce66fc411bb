"""What low-latency HLS holds of a stream: closed parts, the segments they make up, and
the URIs both are served at (relative to the playlist).

:class:`~headwater_hls.part_window.PartWindow` cuts them; the HTTP side serves them by
these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def init_uri(number: int) -> str:
    """URI of init segment ``number``, relative to the playlist."""
    return f"ll-init-{number}.mp4"


def part_uri(number: int) -> str:
    """URI of part ``number`` (counted across segments)."""
    return f"ll-part-{number}.m4s"


def segment_uri(sequence: int) -> str:
    """URI of the whole segment ``sequence``."""
    return f"ll-{sequence}.m4s"


@dataclass(frozen=True, slots=True)
class LivePart:
    """A closed part: its number, bytes, duration (s) and whether it starts with a keyframe."""

    number: int
    data: bytes
    duration: float
    independent: bool


@dataclass(slots=True)
class PartedLiveSegment:
    """A segment being cut or closed: its parts so far and what the playlist says of it."""

    sequence: int
    init: int
    date_time: float
    discontinuity: bool
    discontinuity_number: int
    parts: list[LivePart] = field(default_factory=list)
    complete: bool = False
    _joined: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def duration(self) -> float:
        """Seconds: the sum of its parts' durations."""
        return sum(p.duration for p in self.parts)

    @property
    def data(self) -> bytes:
        """The whole segment: its parts in order (joined once when it is complete)."""
        if self._joined is not None:
            return self._joined
        data = b"".join(p.data for p in self.parts)
        if self.complete:
            self._joined = data
        return data
