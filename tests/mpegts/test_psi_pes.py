"""PSI sections, CRC-32/MPEG-2 and PES headers: tables, round trips and fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.media.mpegts.crc32 import crc32_mpeg2
from headwater.media.mpegts.pes import PESError, Unwrapper, build_pes_header, parse_pes_header
from headwater.media.mpegts.psi import (
    PMT,
    ElementaryStream,
    PSIError,
    SectionAssembler,
    build_pat,
    build_pmt,
    parse_pat,
    parse_pmt,
    section_packets,
)
from headwater.media.mpegts.stream_types import classify, stream_type_for


def test_crc32_mpeg2_check_value() -> None:
    """The catalogued check value of CRC-32/MPEG-2 and the zero remainder of a section."""
    assert crc32_mpeg2(b"123456789") == 0x0376E6E7
    assert crc32_mpeg2(build_pat([(1, 0x1000)])) == 0


def test_pat_pmt_round_trip() -> None:
    """Built sections parse back to the same tables; ffmpeg's PAT bytes are reproduced."""
    pat = build_pat([(1, 0x1000)])
    assert pat.hex() == "00b00d0001c100000001f0002ab104b2"  # ffmpeg's default PAT
    assert parse_pat(pat).programs == ((1, 0x1000),)
    streams = (ElementaryStream(0x1B, 256), ElementaryStream(0x06, 257, b"\x05\x04Opus"))
    pmt = PMT(1, 3, 256, streams)
    assert parse_pmt(build_pmt(pmt)) == pmt


def test_bad_crc_and_lengths_are_psi_errors() -> None:
    """A flipped bit, a short section and a wrong table id each raise PSIError."""
    pat = bytearray(build_pat([(1, 0x1000)]))
    pat[9] ^= 1
    for bad in (bytes(pat), b"\x00\xb0", build_pmt(PMT(1, 0, 256, ()))):
        with pytest.raises(PSIError):
            parse_pat(bad)


def test_section_spanning_packets() -> None:
    """A PMT longer than one packet is reassembled from its continuation packets."""
    streams = tuple(ElementaryStream(0x06, 300 + i, b"\x0a\x04eng\x00" * 3) for i in range(12))
    section = build_pmt(PMT(1, 0, 300, streams))
    assert len(section) > 184
    packets, _ = section_packets(0x1000, section, 0)
    asm = SectionAssembler()
    out = []
    for i in range(0, len(packets), 188):
        p = packets[i : i + 188]
        out += asm.push(p[4:], bool(p[1] & 0x40))
    assert out == [section]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=184), st.booleans()), max_size=12))
def test_fuzz_section_assembler(payloads) -> None:
    """Arbitrary payloads never raise; sections out are bounded in size."""
    asm = SectionAssembler()
    for payload, start in payloads:
        for section in asm.push(payload, start):
            assert 3 <= len(section) <= 4098
            with contextlib.suppress(PSIError):
                parse_pmt(section)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**33 - 1), st.integers(0, 2**33 - 1), st.integers(0, 3000), st.booleans())
def test_pes_header_round_trip(pts, dts, size, sized) -> None:
    """PTS/DTS (33 bits) and length survive build → parse."""
    head = build_pes_header(0xC0, pts, dts, size, sized=sized)
    pes = parse_pes_header(head + bytes(size))
    assert (pes.pts, pes.dts) == (pts, dts)
    assert pes.end - pes.start == size


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz_pes_header(data) -> None:
    """Random bytes after a start code: a header or PESError, nothing else."""
    with contextlib.suppress(PESError):
        parse_pes_header(b"\x00\x00\x01" + data)


def test_unwrapper_follows_wraps_both_ways() -> None:
    """Forward wrap adds 2**33; a slightly earlier value of another track stays earlier."""
    u = Unwrapper()
    assert u(2**33 - 100) == 2**33 - 100
    assert u(50) == 2**33 + 50
    assert u(2**33 - 10) == 2**33 - 10
    assert u(200) == 2**33 + 200


@pytest.mark.parametrize(
    ("stream_type", "descriptors", "codec"),
    [
        (0x1B, b"", "h264"),
        (0x24, b"", "h265"),
        (0x0F, b"", "aac"),
        (0x03, b"", "mp3"),
        (0x81, b"", "ac3"),
        (0x87, b"", "eac3"),
        (0x06, b"\x05\x04Opus", "opus"),
        (0x06, b"\x6a\x01\x00", "ac3"),
        (0x06, b"\x7a\x01\x00", "eac3"),
        (0x86, b"", "scte35"),
        (0x06, b"", "data"),
        (0x15, b"", "data"),
    ],
)
def test_stream_type_table(stream_type, descriptors, codec) -> None:
    """PMT entries map to codecs; every codec we write maps back to its own type."""
    got, _ = classify(stream_type, descriptors)
    assert got.value == codec
    st_out, desc, _ = stream_type_for(got, 2, stream_type)
    assert classify(st_out, desc)[0] is got


def test_language_descriptor() -> None:
    """ISO 639 language descriptor (tag 0x0A) gives the track language."""
    assert classify(0x0F, b"\x0a\x04deu\x00") == ("aac", "deu")
