"""The RTSP message reader's hardening (issue 13), without sockets: the first-byte clock
behind ``limits.message_timeout``, a header search linear in the bytes fed (counted, not
timed), and the bytes of unfinished messages counted against the server-wide budget."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater import ByteBudget
from headwater_rtsp.wire.message import Interleaved, MessageReader, Request, RTSPError

OPTIONS = b"OPTIONS rtsp://127.0.0.1/live/cam RTSP/1.0\r\nCSeq: 1\r\n\r\n"
ANNOUNCE = (
    b"ANNOUNCE rtsp://127.0.0.1/live/cam RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 10\r\n\r\n"
    b"0123456789"
)
FRAME = b"$\x00\x00\x08abcdefgh"


def feed_bytewise(reader: MessageReader, data: bytes, start: float = 0.0, step: float = 1.0):
    """Feed ``data`` one byte a tick; return (events, the started clock after each byte)."""
    events, clocks = [], []
    for i in range(len(data)):
        events += reader.feed(data[i : i + 1], start + i * step)
        clocks.append(reader.oldest_started())
    return events, clocks


@pytest.mark.parametrize("message", [OPTIONS, ANNOUNCE, FRAME], ids=["head", "body", "frame"])
def test_an_unfinished_message_is_stamped_with_its_first_byte(message):
    """Bytes alone extend nothing: the clock is that of the first byte until the last."""
    reader = MessageReader()
    events, clocks = feed_bytewise(reader, message, start=100.0)
    assert len(events) == 1
    assert clocks[:-1] == [100.0] * (len(message) - 1)
    assert clocks[-1] is None  # whole: nothing is waiting
    assert reader.buffered == 0


def test_the_next_message_gets_its_own_clock():
    reader = MessageReader()
    assert reader.feed(OPTIONS + ANNOUNCE[:5], 1.0)[0].method == "OPTIONS"
    assert reader.oldest_started() == 1.0  # the ANNOUNCE began in that read
    assert reader.feed(ANNOUNCE[5:40], 2.0) == []
    assert reader.oldest_started() == 1.0
    events = reader.feed(ANNOUNCE[40:] + FRAME[:3], 3.0)
    assert [type(e) for e in events] == [Request]
    assert reader.oldest_started() == 3.0
    assert reader.feed(FRAME[3:], 4.0) == [Interleaved(0, b"abcdefgh")]
    assert reader.oldest_started() is None


def test_a_body_still_missing_keeps_the_clock_of_its_head():
    """The head is whole and the buffer empty, but the message is not."""
    reader = MessageReader()
    head = ANNOUNCE[: ANNOUNCE.index(b"\r\n\r\n") + 4]
    assert reader.feed(head, 5.0) == []
    assert reader.buffered == 0
    assert reader.oldest_started() == 5.0
    assert reader.feed(b"0123456789", 50.0)[0].body == b"0123456789"
    assert reader.oldest_started() is None


def test_stray_line_ends_start_no_clock():
    reader = MessageReader()
    assert reader.feed(b"\r\n\r\n", 1.0) == []
    assert reader.oldest_started() is None


@pytest.mark.parametrize("size", [1_000, 4_000, 15_000])
@pytest.mark.parametrize("ending", [b"\r\n\r\n", b"\n\n"])
def test_a_head_fed_byte_by_byte_is_scanned_linearly(size, ending):
    """The search for a head's end resumes where the last one stopped: a head of N bytes
    dripped a byte at a time costs O(N) bytes looked at, not O(N^2)."""
    head = b"OPTIONS rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\nX-Pad: " + b"a" * size + ending
    reader = MessageReader()
    events, _ = feed_bytewise(reader, head)
    assert [e.headers["X-Pad"] for e in events] == ["a" * size]
    assert reader.scanned <= 4 * len(head)


def test_a_head_split_at_its_end_is_still_found():
    for cut in range(1, 5):
        reader = MessageReader()
        assert reader.feed(OPTIONS[:-cut]) == []
        assert reader.feed(OPTIONS[-cut:])[0].cseq == "1"


def test_an_endless_head_is_refused_at_the_bound_with_linear_work():
    reader = MessageReader(max_header_bytes=2000)
    with pytest.raises(RTSPError) as info:
        feed_bytewise(reader, b"OPTIONS " + b"a" * 3000)
    assert info.value.status == 400
    assert reader.scanned <= 4 * 2000


def test_bytes_held_are_taken_from_the_budget_and_given_back():
    budget = ByteBudget(1 << 20)
    reader = MessageReader(budget=budget)
    reader.feed(ANNOUNCE[:30], 1.0)
    assert budget.held == 30
    reader.feed(ANNOUNCE[30:] + FRAME[:6], 2.0)
    assert budget.held == 6
    reader.feed(FRAME[6:], 3.0)
    assert budget.held == 0 and budget.holders == 0
    reader.feed(OPTIONS[:10], 4.0)
    reader.close()
    assert budget.held == 0 and budget.holders == 0


def test_the_budget_evicts_the_reader_whose_message_waited_longest():
    budget = ByteBudget(100)
    old, new = MessageReader(budget=budget), MessageReader(budget=budget)
    reasons: list[str] = []
    old.on_evicted = reasons.append
    old.feed(b"OPTIONS " + b"a" * 60, 1.0)
    new.feed(b"OPTIONS " + b"b" * 60, 2.0)  # over the limit: the older one goes
    assert reasons and "server-wide limit of 100 bytes" in reasons[0]
    assert old.buffered == 0 and old.oldest_started() is None
    assert budget.held == 68
    with pytest.raises(RTSPError) as info:
        old.feed(b"a", 3.0)
    assert info.value.status == 503
    new.feed(b" RTSP/1.0\r\nCSeq: 1\r\n\r\n", 3.0)  # odd head, but whole
    assert budget.held == 0


def test_a_reader_that_alone_exceeds_the_budget_is_refused():
    budget = ByteBudget(50)
    reader = MessageReader(budget=budget)
    with pytest.raises(RTSPError) as info:
        reader.feed(b"OPTIONS " + b"a" * 60, 1.0)
    assert info.value.status == 503
    assert budget.held == 0 and reader.buffered == 0


def test_client_text_in_errors_is_escaped_and_cut():
    reader = MessageReader()
    with pytest.raises(RTSPError) as info:
        reader.feed(b"GET\x1b[31m /" + b"x" * 500 + b" RTSP/1.0\r\n\r\n")
    text = str(info.value)
    assert "\x1b" not in text and "\\x1b" in text
    assert "cut" in text and len(text) < 200


@given(st.lists(st.integers(1, 64), min_size=1, max_size=40))
def test_any_split_gives_the_same_messages_clocks_and_linear_work(cuts):
    """Whatever the split, the same events come out, the clock is that of the read holding
    the message's first byte, and the head search stays linear."""
    stream = OPTIONS + FRAME + ANNOUNCE + b"\r\n" + OPTIONS
    budget = ByteBudget(1 << 20)
    reader = MessageReader(budget=budget)
    ends, at = set(), 0
    for part in (OPTIONS, FRAME, ANNOUNCE, b"\r", b"\n", OPTIONS):
        at += len(part)
        ends.add(at)  # nothing unfinished there
    events, pos, clock = [], 0, 0.0
    for cut in [*cuts, len(stream)]:
        if pos >= len(stream):
            break
        clock += 1.0
        events += reader.feed(stream[pos : pos + cut], clock)
        pos = min(pos + cut, len(stream))
        started = reader.oldest_started()
        assert (started is None) == (pos in ends)
        assert started is None or started <= clock
        assert budget.held == reader.buffered
    assert [type(e).__name__ for e in events] == ["Request", "Interleaved", "Request", "Request"]
    assert events[2].body == b"0123456789"
    assert reader.scanned <= 4 * len(stream)
    assert budget.held == 0
