"""Sequence order for RTP over UDP (RFC 3550 section A.1 and A.3): a bounded reorder
buffer that puts late packets back in place, drops duplicates, gives up on a gap once the
buffer is full or the gap is ``max_wait`` seconds old, and counts what was lost for
receiver reports and stats. Time comes in as ``now`` (sans-I/O)."""

from __future__ import annotations

from headwater.media.rtp.packet import RTPPacket


class ReorderBuffer:
    """Packets in, packets in sequence order out; at most ``size`` held back."""

    def __init__(self, size: int = 64, max_wait: float = 0.5) -> None:
        if size < 1:
            raise ValueError("the reorder buffer holds at least one packet")
        self.size = size
        self.max_wait = max_wait
        self._gap_since = 0.0
        self.received = 0
        """Packets taken in (duplicates and late ones excluded)."""
        self.lost = 0
        """Packets given up on (never arrived, or arrived after we moved on)."""
        self.late = 0
        """Duplicates and packets that came after their place was given up."""
        self.highest = -1
        """Extended highest sequence number passed on (cycles << 16 | seq), -1 before any."""
        self._expected: int | None = None
        self._held: dict[int, RTPPacket] = {}
        self._cycles = 0

    @property
    def held(self) -> int:
        """Packets waiting for an earlier one."""
        return len(self._held)

    def flush(self) -> list[RTPPacket]:
        """Every held packet, in order, gaps counted as lost (the sender left)."""
        return self._flush_all()

    def expire(self, now: float) -> list[RTPPacket]:
        """Give up on a gap older than ``max_wait``; return the packets that frees."""
        if not self._held or now - self._gap_since < self.max_wait:
            return []
        out = self._flush_all()
        return out

    def push(self, packet: RTPPacket, now: float = 0.0) -> list[RTPPacket]:
        """Take one packet (received at ``now``); return the packets now in order."""
        out = self.expire(now) if self._held else []
        return out + self._push(packet, now)

    def in_order(self, sequence: int) -> bool:
        """The fast path of :meth:`push` for a packet that needs no buffering: when nothing
        is held and ``sequence`` is the one expected (what UDP almost always delivers),
        count it as passed on and return True; the caller then uses the packet at once,
        without building an :class:`RTPPacket`. Otherwise return False and change nothing:
        the caller goes through :meth:`push`."""
        if self._held:
            return False
        expected = self._expected
        if expected is not None and sequence != expected:
            return False
        self.received += 1
        self._advance(sequence)
        return True

    def _push(self, packet: RTPPacket, now: float) -> list[RTPPacket]:
        seq = packet.sequence
        expected = self._expected
        if expected is None:
            self._expected = expected = seq
        diff = ((seq - expected + 0x8000) & 0xFFFF) - 0x8000
        if diff < 0 or seq in self._held:
            self.late += 1
            return []
        self.received += 1
        if diff == 0 and not self._held:
            self._advance(seq)
            return [packet]
        if diff >= self.size:  # a jump (a restarted sender): flush and follow it
            out = self._flush_all()
            self.lost += (seq - self._expected) & 0xFFFF  # type: ignore[operator]
            self._advance(seq)
            out.append(packet)
            return out
        if not self._held:
            self._gap_since = now
        self._held[seq] = packet
        out = self._release()
        if len(self._held) >= self.size:  # give up on the gap
            while self._held and self._expected not in self._held:
                self.lost += 1
                self._expected = (self._expected + 1) & 0xFFFF  # type: ignore[operator]
            out += self._release()
        if self._held and out:
            self._gap_since = now  # a new gap starts now
        return out

    def _release(self) -> list[RTPPacket]:
        out = []
        held = self._held
        while self._expected in held:
            packet = held.pop(self._expected)  # type: ignore[arg-type]
            self._advance(packet.sequence)
            out.append(packet)
        return out

    def _flush_all(self) -> list[RTPPacket]:
        out = []
        while self._held:
            if self._expected in self._held:
                out += self._release()
            else:
                self.lost += 1
                self._expected = (self._expected + 1) & 0xFFFF  # type: ignore[operator]
        return out

    def _advance(self, seq: int) -> None:
        if (
            self.highest >= 0
            and seq < (self.highest & 0xFFFF)
            and (self.highest & 0xFFFF) - seq > 0x8000
        ):
            self._cycles += 1
        self.highest = (self._cycles << 16) | seq
        self._expected = (seq + 1) & 0xFFFF
