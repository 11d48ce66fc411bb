"""A frame that holds its FLV body alone muxes to the bytes of the same frame cut into units.

RTMP frames carry the publisher's FLV body and no NAL units (``Frame.from_flv_body``); the
TS writer reads their units as views into the body (``Frame.nalu_views``) instead of
cutting them. These cases write each frame both ways, frame by frame, in batches and in a
reused arena, and through ``elementary.encode``, and compare the bytes; the frame must
still not have cut its units afterwards (the point of the views).
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_writer_bulk import write_in_batches

from headwater.media.frames import Codec, Frame, Track
from headwater.media.mpegts import TSWriter, elementary, packet_block

SPS = bytes.fromhex("6742c01e95a0a0fd0800000300080000030190")
PPS = bytes.fromhex("68ce3c80")
TRACK = Track(1, Codec.H264, parameter_sets=(SPS, PPS))


def _body(keyframe: bool, nalus: list[bytes]) -> bytes:
    """A legacy AVC FLV video body (4-byte NAL lengths) holding ``nalus``."""
    head = bytes(((1 if keyframe else 2) << 4 | 7, 1, 0, 0, 0))
    return head + b"".join(struct.pack(">I", len(n)) + n for n in nalus)


def _pair(dts: int, keyframe: bool, nalus: list[bytes]) -> tuple[Frame, Frame]:
    """The same access unit as a frame of units and as a frame of its FLV body alone."""
    cut = Frame(TRACK, dts + 3000, dts, keyframe, nalus=tuple(nalus))
    body = Frame.from_flv_body(
        TRACK, dts + 3000, dts, keyframe, _body(keyframe, nalus), sum(map(len, nalus))
    )
    return cut, body


def _check(units: list[tuple[bool, list[bytes]]]) -> None:
    pairs = [_pair(i * 3000, key, nalus) for i, (key, nalus) in enumerate(units)]
    cut = [a for a, _ in pairs]
    held = [b for _, b in pairs]
    for a, b in pairs:
        assert elementary.encode(b) == elementary.encode(a)
    one, other = TSWriter([TRACK]), TSWriter([TRACK])
    for i, (a, b) in enumerate(pairs):
        assert bytes(other.write(b)) == bytes(one.write(a)), f"frame {i}"
    expected = write_in_batches(cut, [TRACK], 10**6)
    for sizes in (4, 7, 10**6):
        assert write_in_batches(held, [TRACK], sizes) == write_in_batches(cut, [TRACK], sizes)
    assert write_in_batches(held, [TRACK], 10**6) == expected
    if packet_block.AVAILABLE:  # through a small reused arena, as the DVR writes
        arena = packet_block.PacketArena(rows=8)
        assert write_in_batches(held, [TRACK], 5, arena=arena) == expected
    assert all(f._nalus is None for f in held), "the writer cut the units of a body frame"


IDR = bytes((0x65,)) + bytes(range(256)) * 3
SLICE = bytes((0x41,)) + bytes(range(200))
AUD = bytes((0x09, 0xF0))
SEI = bytes((0x06, 0x05, 0x01, 0x80))


@pytest.mark.parametrize(
    "units",
    [
        [(True, [IDR])],  # parameter sets put before a keyframe without them
        [(True, [SPS, PPS, IDR])],  # a keyframe that has them: nothing added
        [(True, [AUD, SEI, IDR]), (False, [AUD, SLICE])],  # the publisher's AUD dropped
        [(False, [SLICE]), (False, [SLICE[:1]])],  # a one-byte unit
        [(True, [IDR])] + [(False, [SLICE * k]) for k in range(1, 12)],  # sizes across packets
    ],
)
def test_table(units: list[tuple[bool, list[bytes]]]) -> None:
    _check(units)


_UNIT = st.builds(
    lambda kind, rest: bytes((kind,)) + rest,
    st.sampled_from([0x65, 0x41, 0x01, 0x06, 0x09, 0x67, 0x68, 0x0C]),
    st.binary(max_size=700),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(_UNIT, min_size=1, max_size=4)), max_size=12))
def test_drawn_access_units(units: list[tuple[bool, list[bytes]]]) -> None:
    _check(units)
