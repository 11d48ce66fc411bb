"""Annex B splitting: a table of edge cases, and splitting in place equals splitting a copy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.media.annexb import annexb_bounds, cut_units, join_annexb, split_annexb

CASES = [
    ("empty", b"", []),
    ("no start code", b"\x65\x88", [b"\x65\x88"]),
    ("3-byte codes", b"\x00\x00\x01\x09\xf0\x00\x00\x01\x65\x88", [b"\x09\xf0", b"\x65\x88"]),
    ("4-byte codes", b"\x00\x00\x00\x01\x67\x42\x00\x00\x00\x01\x68", [b"\x67\x42", b"\x68"]),
    ("leading garbage", b"\xff\xee\x00\x00\x01\x41", [b"\x41"]),
    ("trailing zeros", b"\x00\x00\x01\x41\x9a\x00\x00\x00", [b"\x41\x9a"]),
    ("empty units", b"\x00\x00\x01\x00\x00\x01\x00\x00\x00\x01\x41", [b"\x41"]),
    ("only a start code", b"\x00\x00\x01", []),
]


@pytest.mark.parametrize(("data", "nalus"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_split(data: bytes, nalus: list[bytes]) -> None:
    assert split_annexb(data) == nalus


def test_join_then_split_round_trips() -> None:
    nalus = [b"\x67\x42\xc0\x1e", b"\x68\xce", b"\x65" + bytes(range(1, 200))]
    assert split_annexb(join_annexb(nalus)) == nalus


# bytes rich in zeros and ones, so start codes and trailing zeros are common
TOKENS = [b"\x00", b"\x01", b"\x00\x00\x01", b"\x00\x00\x00\x01", b"\x65", b"\x09\xf0", b"\xff"]
PIECES = st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join)


def _reference(data: bytes) -> list[bytes]:
    """An independent splitter, byte by byte (start codes cannot overlap: each is a cut)."""
    codes = [i for i in range(len(data) - 2) if data[i : i + 3] == b"\x00\x00\x01"]
    if not codes:
        return [data] if data else []
    out = []
    for a, b in zip(codes, [*codes[1:], len(data)], strict=True):
        unit = data[a + 3 : b].rstrip(b"\x00")
        if unit:
            out.append(unit)
    return out


@given(PIECES, st.integers(0, 300), st.integers(0, 300))
def test_split_in_place_equals_split_of_a_copy(data: bytes, a: int, b: int) -> None:
    """Regression guard (issue 14): the TS reader splits a PES payload inside its PES."""
    start, end = min(a, b, len(data)), min(max(a, b), len(data))
    assert split_annexb(data) == _reference(data)
    assert split_annexb(b"\x00\x00\x01\xe0" + data + b"\x00\x00\x01\x41", start + 4, end + 4) == (
        split_annexb(data[start:end])
    )


@given(PIECES, st.integers(-5, 300), st.integers(-5, 300))
def test_bounds_cut_exactly_what_split_cuts(data: bytes, a: int, b: int) -> None:
    """``annexb_bounds`` (the TS reader's lazy frames) names the units ``split_annexb`` cuts,
    in bytes and in a bytearray, for any window (the reader's PES payload in its PES)."""
    framed = b"\x00\x00\x01\xe0" + data + b"\x00\x00\x01\x41"
    for start, end in ((0, None), (a, b), (a + 4, b + 4)):
        expected = split_annexb(framed, start, end)
        for buffer in (framed, bytearray(framed)):
            bounds = annexb_bounds(buffer, start, end)
            assert len(bounds) % 2 == 0
            assert all(bounds[i] < bounds[i + 1] for i in range(0, len(bounds), 2))
            units = cut_units(buffer, bounds)
            assert units == tuple(expected)
            assert all(type(u) is bytes for u in units)


@pytest.mark.parametrize(("data", "nalus"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bounds_table(data: bytes, nalus: list[bytes]) -> None:
    assert cut_units(data, annexb_bounds(data)) == tuple(nalus)


# long slices (video access units); fillers keep start codes rare
LONG = st.lists(
    st.sampled_from([*TOKENS, bytes(range(2, 250)), b"\x00\x00\x03\x01"]), max_size=200
).map(b"".join)


@given(LONG, st.integers(0, 2000), st.integers(0, 50_000))
def test_long_slices_split_at_every_prefix(data: bytes, a: int, b: int) -> None:
    """Long windows (video access units) split as a byte-by-byte reference splits them,
    in ``bytes`` and in a ``bytearray``."""
    start, end = min(a, len(data)), min(max(a, b), len(data))
    expected = _reference(data[start:end])
    assert split_annexb(data, start, end) == expected
    assert list(cut_units(bytearray(data), annexb_bounds(bytearray(data), start, end))) == expected


def test_an_access_unit_splits_at_its_start_codes_only() -> None:
    """A real-sized access unit (AUD, SEI, a slice with emulation prevention bytes and a
    ``00 01`` that is no start code) splits into its three units."""
    body = bytes(range(1, 256)) * 20 + b"\x00\x00\x03\x00\x01\x00\x01\x05" + bytes(range(7, 99))
    au = join_annexb([b"\x09\xf0", b"\x06\x05\x10", b"\x41" + body]) + b"\x00\x00"
    assert split_annexb(au) == _reference(au) == [b"\x09\xf0", b"\x06\x05\x10", b"\x41" + body]
