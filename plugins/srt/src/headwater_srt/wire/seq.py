"""Sequence, message number and timestamp arithmetic with wrap-around.

Data packets carry a 31-bit sequence number (draft-sharabayko-srt §3.1), a 26-bit message
number, and a 32-bit microsecond timestamp; all three wrap. Comparisons therefore use the
signed distance in the modular space instead of ``<``.
"""

from __future__ import annotations

SEQ_MAX = 0x7FFF_FFFF
"""Largest 31-bit packet sequence number."""
MSGNO_MAX = 0x03FF_FFFF
"""Largest 26-bit message number."""
TIMESTAMP_MOD = 1 << 32
"""Packet timestamps wrap every 2^32 microseconds (about 71 minutes)."""

_SEQ_MOD = SEQ_MAX + 1
_SEQ_HALF = _SEQ_MOD >> 1


def seq_add(seq: int, n: int) -> int:
    """Return ``seq + n`` in the 31-bit sequence space (``n`` may be negative)."""
    return (seq + n) & SEQ_MAX


def seq_diff(a: int, b: int) -> int:
    """Return the signed distance ``a - b`` in the 31-bit sequence space.

    Positive when ``a`` comes after ``b``; valid while the two are less than 2^30 apart.
    """
    d = (a - b) & SEQ_MAX
    return d - _SEQ_MOD if d >= _SEQ_HALF else d


def msgno_add(msgno: int, n: int) -> int:
    """Return ``msgno + n`` in the 26-bit message number space (1..MSGNO_MAX, 0 unused)."""
    value = (msgno - 1 + n) % MSGNO_MAX + 1
    return value


class TimestampUnwrapper:
    """Extends 32-bit packet timestamps to a monotonic 64-bit microsecond count.

    A packet whose timestamp is a little earlier than the latest one (a retransmission)
    maps to the same epoch; a jump backwards by more than half the range is a wrap.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = -1

    def extend(self, ts: int) -> int:
        """Return the extended value of the 32-bit timestamp ``ts``."""
        last = self._last
        if last < 0:
            self._last = ts
            return ts
        d = (ts - last) & 0xFFFF_FFFF
        if d >= 0x8000_0000:
            d -= TIMESTAMP_MOD
        value = last + d
        if d > 0:
            self._last = value
        return value
