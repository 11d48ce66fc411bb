"""Reconnect delays: exponential back-off with a ceiling, reset after a good run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """Delays of 1, 2, 4 ... ``ceiling`` seconds; a connection that lasted resets it."""

    initial: float = 1.0
    ceiling: float = 30.0
    healthy_after: float = 10.0
    """A push that ran this long before failing starts again from ``initial``."""
    _next: float = 0.0

    def next_delay(self, ran_for: float) -> float:
        """The delay before the next attempt, given how long the last one ran."""
        if ran_for >= self.healthy_after or self._next == 0.0:
            self._next = self.initial
        else:
            self._next = min(self._next * 2, self.ceiling)
        return self._next
