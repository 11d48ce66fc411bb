"""RTP timestamps to headwater's 90 kHz time line (RFC 3550 section 5.1): 32-bit wrap-around
unwrapped, the media clock rescaled, each track starting at its own offset."""

from __future__ import annotations

from headwater.media.frames import CLOCK_RATE


class RTPClock:
    """One RTP stream's timestamps as 90 kHz ticks from ``start`` (its first timestamp)."""

    __slots__ = ("_base", "_last", "_wraps", "clock_rate", "start")

    def __init__(self, clock_rate: int, start: int = 0) -> None:
        if clock_rate <= 0:
            raise ValueError("an RTP clock rate is positive")
        self.clock_rate = clock_rate
        self.start = start
        """90 kHz time of the first timestamp (aligns the tracks of one session)."""
        self._base: int | None = None
        self._last = 0
        self._wraps = 0

    @property
    def started(self) -> bool:
        """True once a timestamp was seen."""
        return self._base is not None

    def ticks(self, timestamp: int) -> int:
        """The 90 kHz time of an RTP timestamp (timestamps may go back a little: B-frames)."""
        if self._base is None:
            self._base = self._last = timestamp
        delta = timestamp - self._last
        if delta < -0x80000000:
            self._wraps += 1
        elif delta > 0x80000000:
            self._wraps -= 1
        self._last = timestamp
        elapsed = timestamp + (self._wraps << 32) - self._base
        if self.clock_rate == CLOCK_RATE:
            return self.start + elapsed
        rate = self.clock_rate
        return self.start + (elapsed * CLOCK_RATE + rate // 2) // rate  # to the nearest tick
