"""The live receiver (draft-sharabayko-srt §4.5-§4.10): TSBPD delivery, loss reports,
too-late drop, ACK/ACKACK, wrap-around."""

from __future__ import annotations

import random

import pytest

from headwater_srt.wire.receiver import LiveReceiver
from headwater_srt.wire.seq import SEQ_MAX, seq_add

LAT = 120_000
MS = 1000


def make(isn: int = 100) -> LiveReceiver:
    # time base 0: a packet stamped t is due at t + latency
    return LiveReceiver(isn, LAT, 0, now=0)


def make_patient(isn: int = 100) -> LiveReceiver:
    """A receiver whose latency (1 s) leaves time for repeated NAKs of the same loss
    (with 120 ms, a loss is past saving before the first periodic NAK, 150 ms before
    any RTT sample)."""
    return LiveReceiver(isn, 1_000_000, 0, now=0)


def feed(r: LiveReceiver, seq: int, ts: int, now: int, rexmit: bool = False):
    return r.on_data(seq, ts, seq.to_bytes(4, "big"), now, rexmit=rexmit)


def seqs(out) -> list[int]:
    return [int.from_bytes(bytes(p), "big") for p in out]


def test_in_order_packets_wait_for_their_delivery_time() -> None:
    r = make()
    for i in range(5):
        assert feed(r, 100 + i, i * MS, i * MS) == []
    assert r.deliver(LAT - 1) == []
    assert seqs(r.deliver(LAT + 2 * MS)) == [100, 101, 102]
    assert seqs(r.deliver(LAT + 10 * MS)) == [103, 104]


def test_gap_is_naked_at_once_then_filled_by_retransmission() -> None:
    r = make()
    feed(r, 100, 0, 0)
    assert feed(r, 104, 4 * MS, 4 * MS) == [(101, 103)]
    assert r.loss_ranges() == [(101, 103)]
    assert r.ack_seq == 101
    feed(r, 102, 2 * MS, 6 * MS, rexmit=True)
    assert r.loss_ranges() == [(101, 101), (103, 103)]
    feed(r, 101, 1 * MS, 7 * MS, rexmit=True)
    feed(r, 103, 3 * MS, 7 * MS, rexmit=True)
    assert r.ack_seq == 105
    assert seqs(r.deliver(LAT + 10 * MS)) == [100, 101, 102, 103, 104]
    assert (r.stats.lost, r.stats.recovered, r.stats.dropped) == (3, 3, 0)


def test_periodic_nak_repeats_until_filled() -> None:
    r = make_patient()
    feed(r, 100, 0, 0)
    feed(r, 103, 3 * MS, 3 * MS)
    r.nak_sent(3 * MS)
    interval = max(20_000, (r.rtt + 4 * r.rtt_var) // 2)  # 150 ms before any RTT sample
    assert r.feedback(interval - 1).nak is None
    assert r.feedback(interval).nak == [(101, 102)]
    assert r.feedback(interval + 10 * MS).nak is None
    assert r.feedback(2 * interval).nak == [(101, 102)]
    feed(r, 101, MS, 2 * interval + 1)
    feed(r, 102, 2 * MS, 2 * interval + 1)
    assert r.feedback(3 * interval).nak is None


def test_no_nak_for_what_cannot_arrive_in_time() -> None:
    """A gap revealed by a packet that is due within one RTT (the receiver fell behind:
    its arrivals are late) is not NAKed, at once or periodically, while a gap that still
    has time is; the hopeless one is given up when the packet after it is due."""
    r = make()
    r.rtt, r.rtt_var = 10 * MS, 5 * MS
    feed(r, 100, 0, 0)
    # packet 103 (stamped 3 ms, due at 123 ms) arrives at 115 ms: a retransmission of
    # 101..102 asked for now would come back at about 125 ms, too late
    assert feed(r, 103, 3 * MS, 115 * MS) == []
    assert r.loss_ranges() == [(101, 102)]  # still a loss: the ACK stays before it
    assert r.ack_seq == 101
    # packet 106 (stamped 100 ms, due at 220 ms) arrives in time: 104..105 are NAKed
    assert feed(r, 106, 100 * MS, 116 * MS) == [(104, 105)]
    assert r.feedback(140 * MS).nak == [(104, 105)]
    assert seqs(r.deliver(123 * MS)) == [100, 103]
    assert r.stats.dropped == 2
    # once even 104..105 are past saving, no NAK at all
    assert r.feedback(215 * MS).nak is None
    assert r.stats.naks_sent == 1  # the periodic one (the connection counts immediate ones)


def test_immediate_naks_do_not_postpone_the_periodic_nak() -> None:
    """Regression: new gaps every few ms (reordering) kept restarting the periodic NAK
    timer, so a loss whose retransmission was lost too was never reported again."""
    r = make_patient()
    feed(r, 100, 0, 0)
    feed(r, 102, 0, 0)  # 101 lost
    r.nak_sent(0)
    interval = max(20_000, (r.rtt + 4 * r.rtt_var) // 2)
    seq = 102
    for t in range(10 * MS, interval, 10 * MS):  # a new gap (filled at once) every 10 ms
        lost = feed(r, seq + 2, 0, t)
        assert lost
        r.nak_sent(t)
        feed(r, seq + 1, 0, t)
        seq += 2
    assert r.feedback(interval).nak == [(101, 101)]


def test_too_late_packets_are_dropped_and_acknowledged_past() -> None:
    r = make()
    feed(r, 100, 0, 0)
    feed(r, 102, 2 * MS, 2 * MS)  # 101 lost for good
    assert seqs(r.deliver(LAT)) == [100]
    assert r.deliver(LAT + MS) == []  # 101 still has a chance until 102 is due
    assert seqs(r.deliver(LAT + 2 * MS)) == [102]
    assert r.stats.dropped == 1
    assert r.loss_ranges() == []
    assert r.ack_seq == 103
    # the late retransmission is now a duplicate
    feed(r, 101, MS, LAT + 3 * MS, rexmit=True)
    assert r.stats.duplicates == 1


def test_full_ack_after_16_packets_or_80ms() -> None:
    from headwater_srt.wire.receiver import ACK_MAX_INTERVAL, ACK_PACKETS

    assert (ACK_PACKETS, ACK_MAX_INTERVAL) == (16, 80 * MS)
    r = make()
    feed(r, 100, 0, 100)
    assert r.feedback(10 * MS).ack is None  # one packet, 10 ms
    for i in range(1, 15):
        feed(r, 100 + i, 0, 100)
    assert r.feedback(20 * MS).ack is None  # fifteen packets, 20 ms
    feed(r, 115, 0, 100)
    fb = r.feedback(30 * MS)  # sixteen packets
    assert fb.ack is not None and not fb.ack.light and fb.ack.last_seq == 116
    feed(r, 116, 0, 31 * MS)
    assert r.feedback(40 * MS).ack is None
    assert r.feedback(100 * MS).ack is None  # 70 ms since the last full ACK
    fb = r.feedback(110 * MS)  # 80 ms: the one new packet is acknowledged
    assert fb.ack is not None and fb.ack.last_seq == 117 and fb.ack_number == 2
    assert r.feedback(300 * MS).ack is None  # nothing new at all


def test_light_ack_every_64_packets_then_a_full_ack_and_ackack_rtt() -> None:
    r = make()
    for i in range(64):
        feed(r, 100 + i, 0, 100)
    fb = r.feedback(200)
    assert fb.ack is not None and fb.ack.light and fb.ack.last_seq == 164
    feed(r, 164, 0, 300)
    fb = r.feedback(10 * MS)
    assert fb.ack is not None and not fb.ack.light and fb.ack.last_seq == 165
    number = fb.ack_number
    assert r.feedback(20 * MS).ack is None  # nothing new to acknowledge
    r.on_ackack(number, 10 * MS, 10 * MS + 40 * MS)  # 40 ms round trip
    assert r.rtt == (7 * 100_000 + 40_000) // 8
    assert r.rtt_var == (3 * 50_000 + abs(100_000 - 40_000)) // 4


@pytest.mark.parametrize("isn", [SEQ_MAX - 5, SEQ_MAX, 0])
def test_sequence_wrap_with_loss_and_reordering(isn: int) -> None:
    r = make(isn)
    order = [0, 1, 3, 2, 6, 4, 5, 7, 8, 9]
    found = []
    for k, i in enumerate(order):
        found += feed(r, seq_add(isn, i), i * MS, k * MS)
    assert found == [(seq_add(isn, 2), seq_add(isn, 2)), (seq_add(isn, 4), seq_add(isn, 5))]
    assert seqs(r.deliver(LAT + 20 * MS)) == [seq_add(isn, i) for i in range(10)]
    assert r.ack_seq == seq_add(isn, 10)


def test_timestamp_wrap_keeps_delivery_in_time() -> None:
    start = 0xFFFF_FFFF - 5 * MS
    r = LiveReceiver(1, LAT, -start, now=0)  # peer clock starts near the wrap
    for i in range(10):
        ts = (start + i * MS) & 0xFFFF_FFFF
        feed(r, 1 + i, ts, i * MS)
    assert len(r.deliver(LAT + 4 * MS)) == 5
    assert len(r.deliver(LAT + 9 * MS)) == 5


def test_drop_request_stops_waiting() -> None:
    r = make()
    feed(r, 100, 0, 0)
    feed(r, 105, 5 * MS, 0)
    r.on_dropreq(101, 104)
    assert r.loss_ranges() == []
    assert seqs(r.deliver(LAT + 5 * MS)) == [100, 105]
    assert r.stats.dropped == 4


def test_buffer_is_bounded_by_skipping_huge_jumps() -> None:
    r = LiveReceiver(0, LAT, 0, buffer_limit=100)
    feed(r, 0, 0, 0)
    feed(r, 5000, MS, MS)
    assert r.loss_ranges() == []
    assert seqs(r.deliver(LAT + MS)) == [5000]


def test_random_loss_reorder_duplicates_deliver_everything_once() -> None:
    rng = random.Random(7)
    r = make(SEQ_MAX - 300)
    n = 2000
    arrivals = []
    for i in range(n):
        t = i * 200
        if rng.random() > 0.05:
            arrivals.append((t + rng.randrange(0, 3000), i))
        if rng.random() < 0.03:
            arrivals.append((t + rng.randrange(0, 5000), i))  # duplicate
        arrivals.append((t + 30_000 + rng.randrange(0, 5000), i))  # "retransmission"
    arrivals.sort()
    out = []
    for now, i in arrivals:
        feed(r, seq_add(SEQ_MAX - 300, i), i * 200, now)
        out += r.deliver(now)
    out += r.deliver(10**9)
    assert seqs(out) == [seq_add(SEQ_MAX - 300, i) for i in range(n)]
    assert r.stats.dropped == 0


def ackack_round(r: LiveReceiver, i: int, peer_lag: int) -> None:
    """One 80 ms period (ACK_MAX_INTERVAL): a packet, a full ACK, its ACKACK stamped by
    the peer's clock."""
    feed(r, 100 + i, i * MS, i * MS)
    now = (i + 1) * 80 * MS
    fb = r.feedback(now)
    assert fb.ack is not None and not fb.ack.light
    r.on_ackack(fb.ack_number, now - peer_lag, now)


def test_drift_tracer_moves_the_time_base_after_enough_samples() -> None:
    from headwater_srt.wire.receiver import DRIFT_SAMPLES, MAX_DRIFT

    r = make()
    lag = MAX_DRIFT * 2  # the peer's clock runs 10 ms behind what the time base says
    for i in range(DRIFT_SAMPLES - 1):
        ackack_round(r, i, lag)
    assert r.time_base == 0 and r.drift == 0  # one sample short
    ackack_round(r, DRIFT_SAMPLES - 1, lag)
    assert r.time_base == lag and r.drift == 0


def test_small_drift_is_applied_without_moving_the_base() -> None:
    from headwater_srt.wire.receiver import DRIFT_SAMPLES

    r = make()
    for i in range(DRIFT_SAMPLES):
        ackack_round(r, i, 2 * MS)
    assert r.time_base == 0 and r.drift == 2 * MS


def test_ack_and_nak_skip_holes_the_sender_gave_up() -> None:
    """Holes a drop request gave up stay empty slots but leave the loss list: the ACK
    position and the NAK list come from the holes still lost, oldest first."""
    r = make()
    feed(r, 100, 0, 0)
    feed(r, 103, 3 * MS, 3 * MS)  # 101, 102 lost
    feed(r, 106, 6 * MS, 6 * MS)  # 104, 105 lost
    r.on_dropreq(101, 102)
    assert r.ack_seq == 104
    assert r.loss_ranges() == [(104, 105)]
    feed(r, 104, 4 * MS, 7 * MS, rexmit=True)
    assert r.ack_seq == 105 and r.loss_ranges() == [(105, 105)]
    assert r.buffered == 4


def test_periodic_nak_is_bounded_to_what_fits_a_packet() -> None:
    from headwater_srt.wire.receiver import MAX_NAK_RANGES

    r = make_patient()
    seq = 100
    for i in range(MAX_NAK_RANGES + 30):  # every other packet lost
        feed(r, seq, i * MS, i * MS)
        seq += 2
    fb = r.feedback(300 * MS)
    assert fb.nak is not None and len(fb.nak) == MAX_NAK_RANGES
    assert fb.nak[0] == (101, 101) and fb.nak[-1] == (101 + 2 * (MAX_NAK_RANGES - 1),) * 2
    assert len(r.loss_ranges()) == MAX_NAK_RANGES + 29
