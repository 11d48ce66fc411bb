"""The TS reader's numpy bulk path gives exactly what the per-packet loop gives.

Every case feeds the same bytes, cut the same way, to ``TSReader(bulk=True)`` and
``TSReader(bulk=False)`` and compares every event (tracks and frames, bit for bit) and
every counter: real ffmpeg clips of each codec pair, damaged ones (dropped, desynced,
garbage-padded, truncated packets), rare header bits (priority, TEI, duplicates, PUSI
runs), a PMT change, and hypothesis-made chunkings and byte flips.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reader import _damage
from ts_helpers import CODEC_PAIRS, feed_all, frame_key, generated_packets

from headwater.media.mpegts import TracksChanged, TSReader
from headwater.media.mpegts import reader as reader_module

pytestmark = pytest.mark.skipif(reader_module._np is None, reason="numpy not installed")

CHUNKINGS = [None, [65536], [188 * 64], [188 * 65 + 7], [1316], [4096, 100, 188 * 80]]


def _key(event) -> tuple:
    if isinstance(event, TracksChanged):
        return ("tracks", tuple((t.id, t.codec, t.width, t.height, t.config,
                                 tuple(t.parameter_sets)) for t in event.tracks))  # fmt: skip
    return frame_key(event)


def _run(data: bytes, chunks: list[int] | None, bulk: bool) -> tuple[list, tuple]:
    reader = TSReader(bulk=bulk)
    calls = []
    if bulk:
        inner = reader._run_bulk

        def spy(*args):
            result = inner(*args)
            calls.append(result[2])
            return result

        reader._run_bulk = spy  # type: ignore[method-assign]
    events = feed_all(reader, data, chunks)
    counters = (reader.packets, reader.resyncs, dict(reader.cc_errors), reader.tei_errors,
                reader.dropped_pes, reader.pes_errors, reader.psi_errors, reader.pcr)  # fmt: skip
    return [_key(e) for e in events], (counters, sum(calls))


def assert_same(data: bytes, chunks: list[int] | None, *, bulk_used: bool = True) -> None:
    """Bulk and per-packet readers agree on ``data`` cut at ``chunks``."""
    fast, (fast_counters, bulked) = _run(data, chunks, bulk=True)
    slow, (slow_counters, _) = _run(data, chunks, bulk=False)
    assert fast == slow
    assert fast_counters == slow_counters
    if bulk_used:
        assert bulked > 0, "the bulk path never ran"


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
@pytest.mark.parametrize(("video", "audio"), CODEC_PAIRS)
def test_clean_clips(ts_clip, video, audio, chunks) -> None:
    assert_same(ts_clip(video, audio), chunks, bulk_used=chunks != [1316])


@pytest.mark.parametrize("kind", ["drop", "sync", "garbage", "truncate"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_damaged_clips(ts_clip, kind, seed) -> None:
    data = _damage(ts_clip("h264", "aac"), random.Random(seed), kind, 8)
    assert_same(data, None)
    assert_same(data, [random.Random(seed).randrange(188 * 64, 20000) for _ in range(9)])


def _set_bits(data: bytes, every: int, byte: int, bits: int) -> bytes:
    out = bytearray(data)
    for i in range(0, len(out) - 188, 188 * every):
        out[i + byte] |= bits
    return bytes(out)


@pytest.mark.parametrize(
    ("byte", "bits", "every"),
    [(1, 0x20, 7), (1, 0x80, 97), (1, 0x40, 13), (3, 0x20, 11), (3, 0xC0, 50)],
    ids=["priority", "tei", "pusi", "adaptation", "scrambled"],
)
def test_rare_header_bits(ts_clip, byte, bits, every) -> None:
    """Packets with header bits the plain-continuation test must send the slow way."""
    assert_same(_set_bits(ts_clip("h264", "aac"), every, byte, bits), None)


def test_duplicate_and_reordered_packets(ts_clip) -> None:
    data = ts_clip("h264", "aac")
    packets = [data[i : i + 188] for i in range(0, len(data), 188)]
    for i in range(40, len(packets) - 2, 61):
        packets[i + 1] = packets[i]  # a duplicate replaces the next packet
    for i in range(70, len(packets) - 2, 83):
        packets[i], packets[i + 1] = packets[i + 1], packets[i]
    assert_same(b"".join(packets), None)


def test_pmt_change_mid_stream(ts_clip) -> None:
    data = ts_clip("h264", "aac") + ts_clip("h265", "mp3")
    assert_same(data, None)
    assert_same(data, [188 * 70 + 5])


def test_small_feeds_skip_the_bulk_path(ts_clip) -> None:
    """Below :data:`BULK_MIN` whole packets a feed goes packet by packet."""
    data = ts_clip("h264", "aac")
    _, (_, bulked) = _run(data, [188 * (reader_module.BULK_MIN - 1)], bulk=True)
    assert bulked == 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.integers(1, 30000), min_size=1, max_size=12))
def test_any_chunking(ts_clip, chunks) -> None:
    assert_same(ts_clip("h264", "aac"), chunks, bulk_used=False)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.integers(0, 60000), st.integers(0, 255)), min_size=1, max_size=40),
    st.integers(188 * 64, 30000),
)
def test_flipped_bytes(ts_clip, flips, chunk) -> None:
    data = bytearray(ts_clip("h264", "aac")[:60160])
    for pos, value in flips:
        data[pos] = value
    assert_same(bytes(data), [chunk], bulk_used=False)


HEADERS = st.lists(
    st.tuples(st.sampled_from([0x100, 0x100, 0x101, 0x0, 0x1000, 0x1FFF]),
              st.sampled_from([0, 0, 0, 1, 2, 4]), st.none() | st.integers(0, 255),
              st.binary(min_size=4, max_size=4)),
    min_size=1, max_size=120,
)  # fmt: skip


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(HEADERS)
def test_generated_headers(ts_clip, headers) -> None:
    """After a real stream's PAT/PMT, packets with any flags and counters on known and
    unknown PIDs (the bodies copied from real packets, now and then a PES start); a None
    byte 3 is a plain continuation with the PID's next counter, so runs form."""
    data = ts_clip("h264", "aac")
    out = generated_packets(data, headers)
    assert_same(bytes(out), None, bulk_used=len(out) >= 188 * 64)


class _Counting:
    """Stands in for one of the reader's ``_HEADS`` structs and counts the small-feed path."""

    def __init__(self, struct, taken: list[int]) -> None:
        self.struct, self.taken = struct, taken

    def unpack_from(self, buf, offset=0):
        self.taken.append(1)
        return self.struct.unpack_from(buf, offset)


@pytest.fixture
def small_taken(monkeypatch) -> list[int]:
    """A list that grows each time a feed is tried on the small-feed path."""
    taken: list[int] = []
    heads = [_Counting(s, taken) for s in reader_module._HEADS]
    monkeypatch.setattr(reader_module, "_HEADS", heads)
    return taken


@pytest.mark.parametrize("packets", [2, 7, 63])
@pytest.mark.parametrize(("video", "audio"), CODEC_PAIRS)
def test_small_feed_path(ts_clip, small_taken, video, audio, packets) -> None:
    """Feeds of a few whole packets (SRT/UDP datagrams) take the small-feed path and give
    exactly the per-packet loop's events and counters (issue 14)."""
    assert_same(ts_clip(video, audio), [188 * packets], bulk_used=False)
    if video or packets < 63:  # 63 packets of one audio PID's continuations never occur
        assert small_taken, "the small-feed path never ran"


@pytest.mark.parametrize("kind", ["drop", "sync", "garbage", "truncate"])
@pytest.mark.parametrize("seed", [1, 2])
def test_small_feeds_of_damaged_clips(ts_clip, small_taken, kind, seed) -> None:
    data = _damage(ts_clip("h264", "aac"), random.Random(seed), kind, 8)
    assert_same(data, [1316], bulk_used=False)
    assert_same(data, [188 * 5 + 3, 188 * 2], bulk_used=False)
    assert small_taken


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.integers(0, 60000), st.integers(0, 255)), min_size=1, max_size=40),
    st.integers(188 * 2, 188 * 64),
)
def test_small_feeds_of_flipped_bytes(ts_clip, flips, chunk) -> None:
    data = bytearray(ts_clip("h264", "aac")[:60160])
    for pos, value in flips:
        data[pos] = value
    assert_same(bytes(data), [chunk], bulk_used=False)
