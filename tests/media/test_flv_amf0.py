"""AMF0 (headwater.media.flv.amf0): table cases, round trips, fuzzing."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.errors import ProtocolError
from headwater.media.flv import amf0

CASES = [
    # value, exact bytes
    (1.5, b"\x00\x3f\xf8\x00\x00\x00\x00\x00\x00"),
    (True, b"\x01\x01"),
    ("ab", b"\x02\x00\x02ab"),
    (None, b"\x05"),
    (amf0.UNDEFINED, b"\x06"),
    ({"a": 1.0}, b"\x03\x00\x01a\x00\x3f\xf0\x00\x00\x00\x00\x00\x00\x00\x00\x09"),
    (amf0.EcmaArray(x=False), b"\x08\x00\x00\x00\x01\x00\x01x\x01\x00\x00\x00\x09"),
    ([None, "b"], b"\x0a\x00\x00\x00\x02\x05\x02\x00\x01b"),
    (datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), b"\x0b\x40\x8f\x40\x00\x00\x00\x00\x00\x00\x00"),
    (amf0.XMLDocument("<a/>"), b"\x0f\x00\x00\x00\x04<a/>"),
    (amf0.TypedObject("T", {"k": None}), b"\x10\x00\x01T\x00\x01k\x05\x00\x00\x09"),
]


@pytest.mark.parametrize(("value", "wire"), CASES)
def test_table_encode_decode(value, wire):
    assert amf0.encode(value) == wire
    assert amf0.decode(wire) == [value]
    # byte by byte truncation is always a clean AMFError
    for cut in range(len(wire)):
        with pytest.raises(amf0.AMFError):
            amf0.decode(wire[:cut]) if cut else amf0.Decoder(wire[:cut]).read()


def test_long_string_and_reference():
    long = "x" * 70000
    wire = amf0.encode(long)
    assert wire[0] == amf0.LONG_STRING
    assert amf0.decode(wire) == [long]
    # an object, then a reference (2.9) to it
    wire = amf0.encode({"a": 1}) + b"\x07\x00\x00"
    first, second = amf0.decode(wire)
    assert first is second


def test_reference_to_unknown_object_and_deep_nesting_are_refused():
    with pytest.raises(amf0.AMFError):
        amf0.decode(b"\x07\x00\x05")
    deep = b"\x0a\x00\x00\x00\x01" * 200 + b"\x05"
    with pytest.raises(amf0.AMFError, match="nesting"):
        amf0.decode(deep)
    with pytest.raises(amf0.AMFError, match="marker"):
        amf0.decode(b"\x0e")
    assert issubclass(amf0.AMFError, ProtocolError)


def test_strict_array_count_bigger_than_buffer_is_refused_fast():
    with pytest.raises(amf0.AMFError):
        amf0.decode(b"\x0a\xff\xff\xff\xff\x05")


values = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.just(amf0.UNDEFINED),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4).map(amf0.EcmaArray)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=4))
def test_round_trip(items):
    assert amf0.decode(amf0.encode(*items)) == items


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_only_amf_errors(data):
    with contextlib.suppress(amf0.AMFError):
        amf0.decode(data)
