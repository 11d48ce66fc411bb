"""The demuxer's short ways of the eighth sitting, each against what the long way gives.

- ``access_unit_key`` reads the keyframe flag of an access unit that begins as ffmpeg's
  and x264's do (4-byte start code, AUD, 4-byte start code) in place: it must give what
  the scan gives (the frozen reader's first-VCL rule) for any bytes after that prefix.
- ``run_marks`` gives a feed's run starts as one byte per packet: it must equal the
  packet-by-packet definition for any header bytes.
- A PAT or PMT repeat with the expected counter is skipped before the long way, and the
  packet a feed completes is read on its own: the events and counters must equal the
  frozen reader's (``legacy_reader.py``) for repeats with every kind of header damage and
  for feeds cut anywhere, byte at a time included.
- Whatever bytes arrive, ``feed`` and ``flush`` return events and never raise.
"""

from __future__ import annotations

import legacy_reader
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reader_oracle import assert_same

from headwater.media.annexb import access_unit_key, split_annexb
from headwater.media.mpegts import TSReader
from headwater.media.mpegts.packet_runs import run_marks

H264_PREFIX = b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01"
H265_PREFIX = b"\x00\x00\x00\x01\x46\x01\x50\x00\x00\x00\x01"


def _scan_key(data: bytes, start: int, end: int, hevc: bool) -> bool | None:
    """The flag the scan gives: the first VCL unit's of the units ``split_annexb`` finds
    (the frozen reader's rule), None without a start code in the window."""
    window = data[start:end]
    if b"\x00\x00\x01" not in window:
        return None
    return legacy_reader._first_vcl_key(split_annexb(window), hevc)


@given(st.booleans(), st.binary(max_size=60), st.binary(max_size=3), st.integers(0, 80))
def test_aud_led_access_units_read_in_place(hevc, rest, before, cut) -> None:
    """Any bytes after the usual prefix, in a window that may end anywhere."""
    data = before + (H265_PREFIX if hevc else H264_PREFIX) + rest
    start = len(before)
    end = min(len(data), start + cut)
    assert access_unit_key(data, start, end, hevc) is _scan_key(data, start, end, hevc)
    assert access_unit_key(bytearray(data), start, end, hevc) is _scan_key(data, start, end, hevc)


@pytest.mark.parametrize(
    ("hevc", "first", "key"),
    [(False, b"\x65\x88", True), (False, b"\x25\x88", True), (False, b"\x41\x9a", False),
     (False, b"\x01\x9a", False), (False, b"\x06\x05\x01\x80\x00\x00\x01\x65", True),
     (False, b"\x67\x42\x00\x00\x01\x41", False), (False, b"\x00\x00\x01\x65", True),
     (False, b"\x00\x00\x00\x00\x01\x41", False), (False, b"\x1e\x00", False),
     (True, b"\x26\x01", True), (True, b"\x28\x01", True), (True, b"\x02\x01", False),
     (True, b"\x2c\x01", False), (True, b"\x4e\x01\x05\x00\x00\x01\x26\x01", True),
     (True, b"\x00\x00\x01\x02\x01", False), (True, b"\xa6\x01", True)],
    ids=["idr", "idr-nri1", "slice", "slice-nri0", "sei-then-idr", "sps-then-slice",
         "empty-then-idr", "zeros-then-slice", "type-30", "hevc-idr", "hevc-cra",
         "hevc-trail", "hevc-rsv22", "hevc-sei-then-idr", "hevc-empty", "hevc-forbidden"],
)  # fmt: skip
def test_aud_led_access_unit_table(hevc, first, key) -> None:
    data = (H265_PREFIX if hevc else H264_PREFIX) + first + b"\x80" * 5
    assert access_unit_key(data, 0, len(data), hevc) is key
    assert _scan_key(data, 0, len(data), hevc) is key
    # the prefix alone, or cut just after it: no VCL unit in the window
    for end in (len(data) - len(first) - 5, len(data) - len(first) - 4):
        cut = access_unit_key(data, 0, end, hevc)
        assert cut is _scan_key(data, 0, end, hevc)


def _marks_by_packet(buf: bytes, off: int, k: int) -> bytes:
    """The definition: packet i begins a run unless bytes 1-2 equal packet i - 1's and
    byte 3 has the same flags and the next counter."""
    out = bytearray(k)
    for i in range(k):
        p = off + i * 188
        if i == 0:
            out[i] = 1
            continue
        q = p - 188
        same = buf[p + 1 : p + 3] == buf[q + 1 : q + 3]
        succ = (buf[q + 3] & 0xF0) | ((buf[q + 3] + 1) & 15)
        out[i] = 0 if same and buf[p + 3] == succ else 1
    return bytes(out)


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from([0x01, 0x41, 0x00, 0x81, 0x21]), st.integers(0, 2),
                  st.sampled_from([0x10, 0x30, 0x20, 0x90, 0x50]), st.integers(0, 15),
                  st.booleans()),
        min_size=1, max_size=90,
    ),
    st.integers(0, 5),
)  # fmt: skip
def test_run_marks_equal_the_packet_by_packet_definition(headers, off) -> None:
    packets = []
    cc = 0
    for b1, pid, flags, jump, follow in headers:
        cc = (cc + 1) & 15 if follow else jump
        packets.append(bytes((0x47, b1, pid, flags | cc)) + bytes(184))
    buf = b"\x47" * off + b"".join(packets)
    k = len(packets)
    assert run_marks(buf, off, off + k * 188, k) == _marks_by_packet(buf, off, k)


def _psi_offsets(data: bytes, pid: int) -> list[int]:
    return [off for off in range(0, len(data) - 187, 188)
            if ((data[off + 1] & 0x1F) << 8) | data[off + 2] == pid]  # fmt: skip


@pytest.mark.parametrize(
    "change",
    ["counter-jump", "counter-duplicate", "tei", "scrambled", "priority", "adaptation",
     "no-pusi", "payload-byte", "stuffing-byte"],
)  # fmt: skip
@pytest.mark.parametrize("chunks", [None, [29000], [1316], [188 * 3 + 1]], ids=str)
def test_psi_repeats_with_header_damage(ts_clip, change, chunks) -> None:
    """Every third PAT and PMT repeat changed one way: only exact repeats with the
    expected counter may be skipped early; every other one goes the long way."""
    data = bytearray(ts_clip("h264", "aac"))
    offsets = sorted(_psi_offsets(bytes(data), 0) + _psi_offsets(bytes(data), 0x1000))
    assert len(offsets) > 10
    for off in offsets[3::3]:
        if change == "counter-jump":
            data[off + 3] = (data[off + 3] & 0xF0) | ((data[off + 3] + 5) & 15)
        elif change == "counter-duplicate":
            data[off + 3] = (data[off + 3] & 0xF0) | ((data[off + 3] - 1) & 15)
        elif change == "tei":
            data[off + 1] |= 0x80
        elif change == "scrambled":
            data[off + 3] |= 0x80
        elif change == "priority":
            data[off + 1] |= 0x20
        elif change == "adaptation":
            data[off + 3] = (data[off + 3] & 0xCF) | 0x30
            data[off + 4 : off + 6] = b"\x01\x00"
        elif change == "no-pusi":
            data[off + 1] &= ~0x40
        elif change == "payload-byte":
            data[off + 9] ^= 0x01
        else:
            data[off + 187] ^= 0x01
    assert_same(bytes(data), chunks)


@pytest.mark.parametrize("into", [1, 2, 3, 4, 5, 100, 183, 184, 185, 186, 187])
def test_feeds_that_end_inside_a_packet(ts_clip, into) -> None:
    """Feeds cut ``into`` bytes into a packet, so every next feed completes one first."""
    data = ts_clip("h264", "aac")
    assert_same(data, [188 * 40 + into])
    assert_same(data, [188 * 300 + into, 188 * 2 + into, 188 + into])


def test_byte_at_a_time_across_psi_repeats(ts_clip) -> None:
    data = ts_clip("h264", "aac")
    first = _psi_offsets(data, 0)[2]
    assert_same(data[: first + 188 * 120], [1])


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=4000), st.lists(st.integers(1, 700), min_size=1))
def test_any_bytes_never_raise(junk, chunks) -> None:
    """Junk with sync bytes where packets would have them, cut anywhere."""
    data = bytearray(junk)
    data[::188] = b"\x47" * len(data[::188])
    reader = TSReader()
    pos = i = 0
    while pos < len(data):
        step = chunks[i % len(chunks)]
        assert isinstance(reader.feed(bytes(data[pos : pos + step])), list)
        pos += step
        i += 1
    assert isinstance(reader.flush(), list)
