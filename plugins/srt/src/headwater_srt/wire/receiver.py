"""The live-mode receiver (draft-sharabayko-srt §4.5 to §4.8): loss detection and reporting,
acknowledgement, RTT estimation and timestamp-based packet delivery.

Sans-I/O: every method takes the current time in microseconds and returns what to send;
the connection turns that into packets.

- Received packets wait in a buffer keyed by sequence number until their TSBPD delivery
  time ``time_base + timestamp + latency + drift`` (§4.5.1), then leave in sequence order.
- A gap in sequence numbers is a loss: reported at once with a NAK and again by the
  periodic NAK every ``max(20 ms, (RTT + 4 * RTTVar) / 2)`` until it is filled (§4.8.2).
- When the next packet to deliver is still missing and a later one is due, the missing ones
  are dropped as too late (§4.6) and the acknowledgement moves past them.
- A full ACK goes out (looked at every 10 ms) once the acknowledged position moved by 8
  packets or 40 ms after the last one, a light ACK every 64 packets (§4.8.1); the ACKACK
  that answers a full ACK gives an RTT sample (§4.10).
- The drift tracer (§4.7) averages ``arrival - (time_base + ACKACK timestamp)`` over 1000
  samples and moves the time base when the average exceeds 5 ms.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .control import Ack
from .seq import SEQ_MAX, TIMESTAMP_MOD, seq_add, seq_diff

ACK_INTERVAL = 10_000
"""How often a full ACK is considered (the SYN interval), µs."""
ACK_PACKETS = 16
"""A full ACK goes out at the first such moment once this many more packets are
acknowledged than by the last full ACK ..."""
ACK_MAX_INTERVAL = 80_000
"""... or this long after the last full ACK, µs, when anything new is acknowledged.
libsrt acknowledges every 10 ms whatever the rate, so that a 0.5 Mbit/s stream (66
packets a second) costs an ACK and an ACKACK per data packet: three datagrams to handle
instead of one. Acknowledging every 16 packets (40 ms at 4 Mbit/s) or 80 ms changes
nothing a live sender relies on: its buffer is freed a few tens of ms later (it holds
seconds), RTT samples (one per ACKACK) stay plenty, and losses are reported by NAKs, not
by ACKs (a libsrt sender told that the receiver sends periodic NAKs does no blind
retransmission when ACKs are slow to come). The third sitting went from every 10 ms to
8 packets or 40 ms, the fourth to this."""
LIGHT_ACK_PACKETS = 64
"""A light ACK every this many packets."""
NAK_FLOOR = 20_000
"""Shortest periodic NAK interval, µs."""
DRIFT_SAMPLES = 1000
"""ACKACK samples per drift estimate."""
MAX_DRIFT = 5_000
"""Drift beyond which the time base is moved, µs."""
MAX_NAK_RANGES = 170
"""At most this many ranges per NAK (fits a 1500-byte MTU)."""
_NO_LOSS: list[tuple[int, int]] = []
"""What :meth:`LiveReceiver.on_data` returns when nothing was found lost (shared)."""


@dataclass(slots=True)
class ReceiverStats:
    """Counters of one receiving connection."""

    packets: int = 0
    bytes: int = 0
    retransmitted: int = 0
    duplicates: int = 0
    lost: int = 0
    recovered: int = 0
    dropped: int = 0
    delivered: int = 0
    naks_sent: int = 0
    acks_sent: int = 0


@dataclass(slots=True)
class Feedback:
    """What the receiver wants sent after a ``poll``: a full or light ACK and/or a NAK."""

    ack: Ack | None = None
    ack_number: int = 0
    nak: list[tuple[int, int]] | None = None


class LiveReceiver:
    """Receive buffer, loss list and ACK/NAK/TSBPD logic of one SRT connection.

    The buffer is a window of slots indexed by the distance of a sequence number from the
    next one to deliver (as libsrt's receive buffer): a packet in sequence, the common
    case, is one append; a gap is a run of empty slots that a retransmission fills in
    place; delivery takes a prefix. While the window has no hole, the packets due are
    found by bisecting their (non-decreasing) timestamps, so delivery costs a few calls
    per tick however many packets leave. What a slot holds is opaque to the receiver (the
    connection stores whole datagrams, decrypted only when handed over).
    """

    def __init__(
        self,
        isn: int,
        latency: int,
        time_base: int,
        *,
        buffer_limit: int = 8192,
        now: int = 0,
        overhead: int = 0,
    ) -> None:
        """:param isn: initial sequence number from the handshake.
        :param latency: the negotiated TSBPD delay, µs.
        :param time_base: local time (µs) at which the sender's timestamp was 0.
        :param buffer_limit: most packets held (bounds memory; a bigger gap is skipped).
        :param overhead: bytes of each stored item that are not payload (a header).
        """
        self.latency = latency
        self.time_base = time_base
        self.drift = 0
        self.buffer_limit = buffer_limit
        self.overhead = overhead
        self.stats = ReceiverStats()
        self.rtt = 100_000
        self.rtt_var = 50_000
        self._head = isn  # next sequence number to deliver
        self._next = isn  # one past the highest sequence number received
        self._slots: list[Any] = []  # item of seq head + i, None while missing
        self._times: list[int] = []  # extended timestamp of slot i
        self._missing = 0  # empty slots in the window
        self._loss: set[int] = set()
        self._ts_last = (now - time_base) & 0xFFFF_FFFF  # the peer's clock, about now
        self._ack_number = 0
        self._acks_out: deque[tuple[int, int]] = deque(maxlen=64)
        self._last_ack_seq = isn
        self._last_ack_time = now
        self._full_ack_seq = isn
        self._full_ack_time = now
        self._packets_at_ack = 0
        self._last_nak_time = now
        self._drift_sum = 0
        self._drift_count = 0
        self._rate_packets = 0
        self._rate_bytes = 0
        self._rate_start = now
        self.packet_rate = 0
        self.byte_rate = 0

    # -- incoming -------------------------------------------------------------------------

    @property
    def ack_seq(self) -> int:
        """The first sequence number not yet received (what an ACK acknowledges)."""
        if self._loss:
            for seq in self._holes():
                return seq
        return self._next

    def _holes(self, cutoff: int | None = None) -> Iterator[int]:
        """The sequence numbers of the loss list, oldest first (every lost packet has an
        empty slot; ``list.index`` finds them at C speed); with ``cutoff``, only those whose
        slot's timestamp (of the packet that revealed the gap) is at least that."""
        slots, loss, head, times = self._slots, self._loss, self._head, self._times
        find = slots.index
        i = 0
        try:
            while True:
                i = find(None, i)
                seq = (head + i) & SEQ_MAX
                if seq in loss and (cutoff is None or times[i] >= cutoff):
                    yield seq
                i += 1
        except ValueError:
            return

    def _hopeful_holes(self, now: int) -> Iterator[int]:
        """:meth:`_holes` without those past saving: a gap whose revealing packet is
        delivered (gives up on it) before a retransmission asked for now could arrive."""
        # the extended timestamps up to which a gap is past saving
        return self._holes(now + self.rtt - (self.time_base + self.latency + self.drift))

    def wants(self, seq: int) -> bool:
        """Whether a data packet with ``seq`` is new (not late, not a duplicate)."""
        if seq_diff(seq, self._head) < 0:
            return False
        if seq_diff(seq, self._next) >= 0:
            return True
        return seq in self._loss

    def _extend(self, timestamp: int) -> int:
        """The 32-bit ``timestamp`` extended past wrap-arounds (see TimestampUnwrapper)."""
        last = self._ts_last
        d = (timestamp - last) & 0xFFFF_FFFF
        if d >= 0x8000_0000:
            return last + d - TIMESTAMP_MOD
        if d:
            self._ts_last = last + d
        return last + d

    def on_data(
        self, seq: int, timestamp: int, payload: Any, now: int, *, rexmit: bool
    ) -> list[tuple[int, int]]:
        """Take a data packet (``payload`` is stored as given); returns the ranges newly
        found lost (to NAK at once). The returned list must not be changed."""
        st = self.stats
        st.packets += 1
        st.bytes += len(payload) - self.overhead
        if rexmit:
            st.retransmitted += 1
        # the timestamp, extended (inline: this runs for every packet)
        last = self._ts_last
        d = (timestamp - last) & 0xFFFF_FFFF
        if d >= 0x8000_0000:
            ext = last + d - TIMESTAMP_MOD
        else:
            ext = self._ts_last = last + d
        slots = self._slots
        if seq == self._next and len(slots) < self.buffer_limit:  # in sequence
            slots.append(payload)
            self._times.append(ext)
            self._next = (seq + 1) & SEQ_MAX
            return _NO_LOSS
        return self._out_of_sequence(seq, ext, payload, now)

    def _out_of_sequence(self, seq: int, ext: int, payload: Any, now: int) -> list[tuple[int, int]]:
        st = self.stats
        ahead = seq_diff(seq, self._next)
        offset = seq_diff(seq, self._head)
        slots = self._slots
        if ahead >= 0:
            if offset >= self.buffer_limit:
                self._skip_to(seq)
                lost = _NO_LOSS
            else:
                first = self._next
                self._loss.update((first + i) & SEQ_MAX for i in range(ahead))
                st.lost += ahead
                slots.extend([None] * ahead)
                self._times.extend([ext] * ahead)
                self._missing += ahead
                if ahead and not self._hopeless(ext, now):
                    lost = [(first, seq_add(seq, -1))]
                else:  # no gap, or one whose retransmission would come too late
                    lost = _NO_LOSS
            slots.append(payload)
            self._times.append(ext)
            self._next = seq_add(seq, 1)
            return lost
        if offset < 0 or seq not in self._loss:
            st.duplicates += 1
            return _NO_LOSS
        self._loss.discard(seq)
        st.recovered += 1
        slots[offset] = payload
        self._times[offset] = ext
        self._missing -= 1
        return _NO_LOSS

    def _skip_to(self, seq: int) -> None:
        dropped = seq_diff(seq, self._head) - (len(self._slots) - self._missing)
        self.stats.dropped += max(dropped, 0)
        self._slots.clear()
        self._times.clear()
        self._missing = 0
        self._loss.clear()
        self._head = self._next = seq

    def map_items(self, fn: Callable[[Any], Any]) -> None:
        """Replace every buffered item by ``fn(item)`` (decryption before re-keying)."""
        self._slots = [None if item is None else fn(item) for item in self._slots]

    def on_dropreq(self, first: int, last: int) -> None:
        """The sender gave up on ``first..last``: stop waiting for them."""
        span = seq_diff(last, first)
        if span < 0 or span > self.buffer_limit:
            return
        for i in range(span + 1):
            self._loss.discard((first + i) & SEQ_MAX)

    def on_ackack(self, ack_number: int, timestamp: int, now: int) -> None:
        """An ACKACK: update RTT/RTTVar (§4.10) and the drift tracer (§4.7)."""
        for number, sent in reversed(self._acks_out):  # usually the latest ACK
            if number == ack_number:
                rtt = now - sent
                self.rtt_var = (3 * self.rtt_var + abs(self.rtt - rtt)) // 4
                self.rtt = (7 * self.rtt + rtt) // 8
                break
        else:
            return
        self._drift_sum += now - (self.time_base + self._extend(timestamp))
        self._drift_count += 1
        if self._drift_count >= DRIFT_SAMPLES:
            drift = self._drift_sum // self._drift_count
            self._drift_sum = self._drift_count = 0
            if abs(drift) > MAX_DRIFT:
                self.time_base += drift
                self.drift = 0
            else:
                self.drift = drift

    # -- time-driven ----------------------------------------------------------------------

    def deliver(self, now: int) -> list[Any]:
        """Release the items whose delivery time has come, in sequence order, dropping
        missing packets that can no longer arrive in time."""
        slots = self._slots
        if not slots:
            return []
        times = self._times
        limit = now - (self.time_base + self.latency + self.drift)
        if not self._missing:  # no hole: the due packets are a prefix
            count = bisect_right(times, limit)
            if not count:
                return []
            out = slots[:count]
        else:
            out, count = self._deliver_around_holes(limit)
        del slots[:count]
        del times[:count]
        self._head = (self._head + count) & SEQ_MAX
        self.stats.delivered += len(out)
        return out

    def _deliver_around_holes(self, limit: int) -> tuple[list[Any], int]:
        slots, times, loss, head = self._slots, self._times, self._loss, self._head
        out: list[Any] = []
        n = len(slots)
        i = 0
        while i < n:
            item = slots[i]
            if item is not None:
                if times[i] > limit:
                    break
                out.append(item)
                i += 1
                continue
            if (head + i) & SEQ_MAX not in loss:  # given up by the sender (drop request)
                self.stats.dropped += 1
                self._missing -= 1
                i += 1
                continue
            j = i + 1
            while j < n and slots[j] is None:
                j += 1
            if j == n or times[j] > limit:
                break
            for k in range(i, j):  # too late: the packet after the gap is due
                loss.discard((head + k) & SEQ_MAX)
            self.stats.dropped += j - i
            self._missing -= j - i
            i = j
        return out, i

    def drain(self) -> list[Any]:
        """Release everything still buffered, in order, skipping holes (the peer left and
        will retransmit nothing more)."""
        out = [item for item in self._slots if item is not None]
        self.stats.dropped += self._missing
        self.stats.delivered += len(out)
        self._head = self._next
        self._slots.clear()
        self._times.clear()
        self._missing = 0
        self._loss.clear()
        return out

    def feedback(self, now: int) -> Feedback:
        """Decide which ACK and NAK are due at ``now``."""
        fb = Feedback()
        due = self.ack_due(now)
        if due is not None:
            ack_seq, number = due
            if number:
                fb.ack = Ack(ack_seq, self.rtt, self.rtt_var, self.available,
                             self.packet_rate, self.packet_rate, self.byte_rate)  # fmt: skip
                fb.ack_number = number
            else:
                fb.ack = Ack(ack_seq, light=True)
        fb.nak = self.nak_due(now)
        return fb

    def ack_due(self, now: int) -> tuple[int, int] | None:
        """The ACK due at ``now``, if any, as ``(acknowledged sequence number, ACK
        number)``: a full ACK (numbered) when the position moved by
        :data:`ACK_PACKETS` since the last one or :data:`ACK_MAX_INTERVAL` passed
        (looked at every :data:`ACK_INTERVAL`), a light one (number 0) every
        :data:`LIGHT_ACK_PACKETS` packets between them. The caller sends it (no object
        per ACK: this runs for every connection at every tick)."""
        st = self.stats
        if now - self._last_ack_time >= ACK_INTERVAL:
            if now - self._rate_start >= 1_000_000:
                self._update_rates(now)
            self._last_ack_time = now
            self._packets_at_ack = st.packets
            ack_seq = self.ack_seq if self._loss else self._next
            if ack_seq == self._last_ack_seq or (
                now - self._full_ack_time < ACK_MAX_INTERVAL
                and seq_diff(ack_seq, self._full_ack_seq) < ACK_PACKETS
            ):
                return None
            self._ack_number = number = (self._ack_number + 1) & 0x7FFF_FFFF or 1
            self._acks_out.append((number, now))
            self._last_ack_seq = self._full_ack_seq = ack_seq
            self._full_ack_time = now
            st.acks_sent += 1
            return ack_seq, number
        if st.packets - self._packets_at_ack >= LIGHT_ACK_PACKETS:
            ack_seq = self.ack_seq if self._loss else self._next
            if ack_seq != self._last_ack_seq:
                self._last_ack_seq = ack_seq
                self._packets_at_ack = st.packets
                st.acks_sent += 1
                return ack_seq, 0
        return None

    def _hopeless(self, ext: int, now: int) -> bool:
        """Whether a gap before the packet with extended timestamp ``ext`` is past saving:
        a retransmission asked for now arrives about one RTT later, and by then that
        packet (and so the gap, which :meth:`deliver` gives up on when the packet after it
        is due) will have been delivered."""
        return self.time_base + ext + self.latency + self.drift < now + self.rtt

    def nak_due(self, now: int) -> list[tuple[int, int]] | None:
        """The periodic NAK due at ``now`` (the loss list, oldest first), if any.

        Losses that a retransmission could no longer fill in time (:meth:`_hopeless`) are
        left out: the latency window governs. A receiver that falls behind (its socket
        queue delays every arrival) would otherwise ask for retransmissions that arrive
        too late, and their extra packets would keep it behind: a server that once lost
        the race under load never caught up."""
        if self._loss and now - self._last_nak_time >= max(
            NAK_FLOOR, (self.rtt + 4 * self.rtt_var) // 2
        ):
            self._last_nak_time = now
            ranges = self._loss_ranges(MAX_NAK_RANGES, now)
            if not ranges:
                return None
            self.stats.naks_sent += 1
            return ranges
        return None

    @property
    def available(self) -> int:
        """Free packet slots in the buffer, as a full ACK reports them (at least 2)."""
        return max(self.buffer_limit - len(self._slots), 2)

    def nak_sent(self, now: int) -> None:
        """Count an immediate NAK. It does not move the periodic NAK timer: a loss whose
        retransmission is lost too must be reported again on schedule, however many new
        gaps keep causing immediate NAKs meanwhile."""
        self.stats.naks_sent += 1

    def loss_ranges(self) -> list[tuple[int, int]]:
        """The loss list as inclusive ranges, oldest first."""
        return self._loss_ranges()

    def _loss_ranges(
        self, limit: int | None = None, now: int | None = None
    ) -> list[tuple[int, int]]:
        """The loss list as ranges, at most ``limit``; with ``now``, without the losses
        past saving (:meth:`_hopeless`)."""
        ranges: list[tuple[int, int]] = []
        holes = self._holes() if now is None else self._hopeful_holes(now)
        for s in holes:
            if ranges and ranges[-1][1] == ((s - 1) & SEQ_MAX):
                ranges[-1] = (ranges[-1][0], s)
            elif limit is not None and len(ranges) >= limit:
                break
            else:
                ranges.append((s, s))
        return ranges

    def _update_rates(self, now: int) -> None:
        elapsed = now - self._rate_start
        if elapsed >= 1_000_000:
            st = self.stats
            self.packet_rate = (st.packets - self._rate_packets) * 1_000_000 // elapsed
            self.byte_rate = (st.bytes - self._rate_bytes) * 1_000_000 // elapsed
            self._rate_packets, self._rate_bytes = st.packets, st.bytes
            self._rate_start = now

    @property
    def buffered(self) -> int:
        """Packets waiting in the buffer."""
        return len(self._slots) - self._missing
