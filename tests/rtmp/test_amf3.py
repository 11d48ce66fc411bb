"""AMF3 (headwater_rtmp.wire.amf3): hand-made bytes with references, round trips, AVM+ switch,
fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.media.flv import amf0
from headwater_rtmp.wire import amf3

CASES = [
    (None, b"\x01"),
    (False, b"\x02"),
    (True, b"\x03"),
    (0, b"\x04\x00"),
    (200, b"\x04\x81\x48"),
    (-1, b"\x04\xff\xff\xff\xff"),
    ((1 << 28) - 1, b"\x04\xbf\xff\xff\xff"),
    (1 << 28, b"\x05\x41\xb0\x00\x00\x00\x00\x00\x00"),
    (1.5, b"\x05\x3f\xf8\x00\x00\x00\x00\x00\x00"),
    ("hé", b"\x06\x07h\xc3\xa9"),
    (b"\x01\x02", b"\x0c\x05\x01\x02"),
    ([1, "a"], b"\x09\x05\x01\x04\x01\x06\x03a"),
    ({"k": None}, b"\x0a\x0b\x01\x03k\x01\x01"),
    (amf0.TypedObject("T", {"k": True}), b"\x0a\x0b\x03T\x03k\x03\x01"),
]


@pytest.mark.parametrize(("value", "wire"), CASES)
def test_table(value, wire):
    assert amf3.encode(value) == wire
    assert amf3.decode(wire) == [value]
    for cut in range(len(wire)):
        with pytest.raises(amf0.AMFError):
            amf3.Decoder(wire[:cut]).read()


def test_references_sealed_traits_and_vectors():
    # [ "ab", "ab"(ref 0), obj{sealed x:1}, obj(traits ref 0){x:2}, obj ref 1 ]
    wire = (
        b"\x09\x0b\x01"  # dense array of 5
        + b"\x06\x05ab"
        + b"\x06\x00"  # string reference 0
        + b"\x0a\x13\x03P\x03x\x04\x01"  # inline traits: 1 sealed member "x", class "P"
        + b"\x0a\x01\x04\x02"  # traits reference 0
        + b"\x0a\x02"  # object reference 1 (0 = the array, 1 = the first P)
    )
    [value] = amf3.decode(wire)
    assert value[:2] == ["ab", "ab"]
    assert value[2] == amf0.TypedObject("P", {"x": 1}) and value[3].fields == {"x": 2}
    assert value[4] is value[2]
    vec = b"\x0d\x05\x00" + b"\xff\xff\xff\xfe\x00\x00\x00\x07"
    assert amf3.decode(vec) == [[-2, 7]]


def test_avmplus_switch_inside_amf0():
    wire = amf0.encode("onMetaData") + b"\x11" + amf3.encode({"width": 320})
    assert amf0.decode(wire, amf3.decode_at) == ["onMetaData", {"width": 320}]
    with pytest.raises(amf0.AMFError):
        amf0.decode(wire)


def test_refusals():
    with pytest.raises(amf0.AMFError, match="externalizable"):
        amf3.decode(b"\x0a\x07\x03E")
    with pytest.raises(amf0.AMFError, match="reference"):
        amf3.decode(b"\x06\x02")
    with pytest.raises(amf0.AMFError, match="nesting"):
        amf3.decode(b"\x09\x03\x01" * 100 + b"\x01")


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(1 << 40), 1 << 40)
    | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | st.binary(max_size=10),
    lambda c: (
        st.lists(c, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=6), c, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=3))
def test_round_trip(items):
    assert amf3.decode(amf3.encode(*items)) == items


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_only_amf_errors(data):
    with contextlib.suppress(amf0.AMFError):
        amf3.decode(data)
