"""Work linear in the input for the parsers a hostile client feeds byte by byte (issue 13):
counted, not timed. The RTMP chunk reader has its own tests in tests/rtmp/test_chunk_limits."""

from __future__ import annotations

import re

import h11
import h11._receivebuffer as receivebuffer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater_mpegts.http_publish import PROBE_BYTES, SYNC_RUN, _find_sync


class CountingRegex:
    """A compiled regex that counts the bytes each search may look at."""

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern = pattern
        self.scanned = 0

    def search(self, data, pos=0):
        self.scanned += len(data) - pos
        return self.pattern.search(data, pos)


@pytest.mark.parametrize("size", [1_000, 4_000, 15_000])
def test_http_request_head_fed_byte_by_byte_is_scanned_linearly(size, monkeypatch):
    """uvicorn's HTTP parser (h11) looks for the end of a head only in bytes it has not
    searched before: a slowloris head of N bytes costs O(N), not O(N^2)."""
    counting = CountingRegex(receivebuffer.blank_line_regex)
    monkeypatch.setattr(receivebuffer, "blank_line_regex", counting)
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * size + b"\r\n\r\n"
    conn = h11.Connection(h11.SERVER)
    for i in range(len(head)):
        conn.receive_data(head[i : i + 1])
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            break
    assert isinstance(event, h11.Request)
    assert counting.scanned <= 3 * len(head)


def test_http_request_heads_are_bounded():
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(
        b"GET / HTTP/1.1\r\nX: " + b"a" * (h11._connection.DEFAULT_MAX_INCOMPLETE_EVENT_SIZE + 1)
    )
    with pytest.raises(h11.RemoteProtocolError):
        conn.next_event()


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=4000), st.integers(1, 500))
def test_mpegts_probe_rescans_at_most_two_packets(data, step):
    """The HTTP MPEG-TS probe keeps where its search stopped: whatever the split, only the
    last few packets' worth of bytes are looked at again."""
    buf = bytearray()
    start = 0
    for i in range(0, len(data), step):
        buf += data[i : i + step]
        found, start = _find_sync(buf, start)
        if found >= 0:
            assert all(buf[found + k * 188] == 0x47 for k in range(SYNC_RUN))
            return
        assert len(buf) - start <= (SYNC_RUN - 1) * 188 + 1


def test_mpegts_probe_finds_sync_after_garbage():
    packet = b"\x47" + bytes(187)
    buf = bytearray(b"\x47junk" * 100 + packet * SYNC_RUN)
    found, _ = _find_sync(buf, 0)
    assert found == 500
    assert PROBE_BYTES == 1 << 20


def test_regression_random_bytes_do_not_pass_for_mpegts():
    """Three sync bytes in a row turn up in about one megabyte of random bytes in sixteen
    (a flaky 'publication' of garbage); the probe wants five."""
    import random

    rng = random.Random(13)
    fooled = 0
    for _ in range(8):
        data = bytearray(rng.randbytes(PROBE_BYTES))
        fooled += _find_sync(data, 0)[0] >= 0
    assert fooled == 0
