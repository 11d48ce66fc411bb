"""The fMP4 (CMAF) writer: boxes, init segments and fragments, parsed back field by field.

A test-side box reader (``box_reader.py``) checks that every size adds up, that the init
segment says what the tracks are (``avcC``/``hvcC`` records, ``esds`` with the AAC config,
timescales, dimensions) and that a fragment's ``trun`` describes exactly the bytes in its
``mdat``; hypothesis writes random samples and reads them back.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.media import h264, h265
from headwater.media.fmp4 import (
    FragmentMuxer,
    InitTrack,
    MuxerNotReady,
    Sample,
    TrackRun,
    box,
    fragment,
    full_box,
    init_segment,
)
from headwater.media.fmp4.sample_entry import esds
from headwater.media.frames import CLOCK_RATE, Codec, Frame, Track

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
from box_reader import descriptors, parse, root, sample_entry_children
from core_helpers import AAC, H264, PPS, SPS

VPS265 = bytes.fromhex("40010c01ffff016000000300900000030000030078959809")
SPS265 = bytes.fromhex(  # a real x265 main-profile SPS (as in tests/media/test_hls_codecs.py)
    "42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003000210"
)
PPS265 = bytes.fromhex("4401c172b46240")
H265 = Track(5, Codec.H265, parameter_sets=(VPS265, SPS265, PPS265), width=320, height=240)


@pytest.mark.parametrize(
    ("made", "size", "head"),
    [
        (box(b"free"), 8, b"\x00\x00\x00\x08free"),
        (box(b"mdat", b"abc", b"de"), 13, b"\x00\x00\x00\x0dmdatabcde"),
        (
            full_box(b"mfhd", 0, 0, b"\x00\x00\x00\x07"),
            16,
            b"\x00\x00\x00\x10mfhd\0\0\0\0\0\0\0\x07",
        ),
        (full_box(b"tfhd", 1, 0x020000), 12, b"\x00\x00\x00\x0ctfhd\x01\x02\x00\x00"),
    ],
)
def test_boxes_carry_their_size_type_and_version(made: bytes, size: int, head: bytes) -> None:
    assert len(made) == size and made == head


def test_a_box_type_is_four_bytes() -> None:
    with pytest.raises(ValueError, match="four bytes"):
        box(b"moo")


def test_init_segment_of_h264_and_aac() -> None:
    record = h264.build_avc_config([SPS], [PPS])
    data = init_segment([InitTrack(H264, 1, record, 320, 240), InitTrack(AAC, 2, AAC.config)])
    top = root(data)
    assert [b.kind for b in top.children] == [b"ftyp", b"moov"]
    ftyp = top.find(b"ftyp").payload
    assert ftyp[:4] == b"iso6" and b"cmfc" in ftyp[8:]
    moov = top.find(b"moov")
    assert struct.unpack(">I", moov.find(b"mvhd").body[-4:])[0] == 3  # next_track_ID
    video, audio = moov.all(b"trak")
    tkhd = video.find(b"tkhd")
    assert tkhd.version_flags == (0, 3)
    assert struct.unpack(">I", tkhd.body[8:12])[0] == 1  # track_ID
    assert struct.unpack(">II", tkhd.body[-8:]) == (320 << 16, 240 << 16)
    mdhd = video.find(b"mdia", b"mdhd").body
    assert struct.unpack(">I", mdhd[8:12])[0] == CLOCK_RATE
    assert video.find(b"mdia", b"hdlr").body[4:8] == b"vide"
    stsd = video.find(b"mdia", b"minf", b"stbl", b"stsd")
    (avc1,) = stsd.children
    assert avc1.kind == b"avc1"
    assert struct.unpack(">HH", avc1.payload[24:28]) == (320, 240)
    (avcc,) = sample_entry_children(avc1, 78)
    assert avcc.kind == b"avcC" and avcc.payload == record
    for empty in (b"stts", b"stsc", b"stco"):
        assert video.find(b"mdia", b"minf", b"stbl", empty).body == bytes(4)
    assert audio.find(b"mdia", b"hdlr").body[4:8] == b"soun"
    (mp4a,) = audio.find(b"mdia", b"minf", b"stbl", b"stsd").children
    channels, bits = struct.unpack(">HH", mp4a.payload[16:20])
    assert (channels, bits) == (2, 16)
    assert struct.unpack(">I", mp4a.payload[24:28])[0] >> 16 == 48000
    (esds_box,) = sample_entry_children(mp4a, 28)
    found = descriptors(esds_box.body)
    assert found[5] == AAC.config  # DecoderSpecificInfo: the AudioSpecificConfig
    assert found[4][:2] == b"\x40\x15"  # MPEG-4 audio, audio stream
    assert found[6] == b"\x02"
    trex = moov.find(b"mvex").all(b"trex")
    assert [struct.unpack(">II", t.body[:8]) for t in trex] == [(1, 1), (2, 1)]


def test_init_segment_of_h265_has_an_hvcc_record() -> None:
    muxer = FragmentMuxer([H265], 0)
    top = root(muxer.init_segment())
    (trak,) = top.find(b"moov").all(b"trak")
    (hvc1,) = trak.find(b"mdia", b"minf", b"stbl", b"stsd").children
    assert hvc1.kind == b"hvc1"
    (hvcc,) = sample_entry_children(hvc1, 78)
    assert hvcc.payload == h265.build_hevc_config([VPS265], [SPS265], [PPS265])


@pytest.mark.parametrize("size", [2, 127, 128, 300, 20000])
def test_descriptor_sizes_use_as_many_7_bit_groups_as_needed(size: int) -> None:
    config = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert descriptors(full_box(b"esds", 0, 0, esds(1, config)[12:])[12:])[5] == config


def test_track_ids_must_be_unique_and_from_one() -> None:
    with pytest.raises(ValueError, match="unique"):
        init_segment([InitTrack(AAC, 1, b"\x11\x90"), InitTrack(AAC, 1, b"\x11\x90")])
    with pytest.raises(ValueError, match="at least one"):
        init_segment([])


def read_fragment(
    data: bytes,
) -> tuple[int, list[tuple[int, int, list[tuple[int, int, int, int]], list[bytes]]]]:
    """(sequence, [(track_ID, decode time, [(duration, size, flags, cto)], [sample bytes])])."""
    moof, mdat = parse(data)
    assert (moof.kind, mdat.kind) == (b"moof", b"mdat")
    sequence = struct.unpack(">I", moof.find(b"mfhd").body)[0]
    runs = []
    for traf in moof.all(b"traf"):
        tfhd, tfdt, trun = traf.find(b"tfhd"), traf.find(b"tfdt"), traf.find(b"trun")
        assert tfhd.version_flags == (0, 0x020000)
        assert tfdt.version_flags[0] == 1
        version, flags = trun.version_flags
        assert (version, flags) == (1, 0x000F01)
        count, offset = struct.unpack(">Ii", trun.body[:8])
        entries = [
            struct.unpack(">IIIi", trun.body[8 + 16 * i : 24 + 16 * i]) for i in range(count)
        ]
        assert len(trun.body) == 8 + 16 * count
        samples, pos = [], moof.offset + offset
        for _, size, _, _ in entries:
            samples.append(data[pos : pos + size])
            pos += size
        runs.append(
            (struct.unpack(">I", tfhd.body)[0], struct.unpack(">Q", tfdt.body)[0], entries, samples)
        )
    return sequence, runs


def test_a_fragment_describes_exactly_the_bytes_of_its_mdat() -> None:
    runs = [
        TrackRun(
            1, 90000, [Sample(b"key", 3000, 6000, True), Sample(b"delta!", 3000, -3000, False)]
        ),
        TrackRun(2, 88000, [Sample(b"aac1", 1920), Sample(b"aac22", 1920)]),
        TrackRun(3, 0, []),  # a track without samples is left out
    ]
    data = fragment(7, runs)
    sequence, got = read_fragment(data)
    assert sequence == 7
    assert got == [
        (
            1,
            90000,
            [(3000, 3, 0x02000000, 6000), (3000, 6, 0x01010000, -3000)],
            [b"key", b"delta!"],
        ),
        (2, 88000, [(1920, 4, 0x02000000, 0), (1920, 5, 0x02000000, 0)], [b"aac1", b"aac22"]),
    ]
    assert data.endswith(b"keydelta!aac1aac22")
    with pytest.raises(ValueError, match="at least one sample"):
        fragment(1, [TrackRun(1, 0, [])])


samples_st = st.lists(
    st.builds(
        Sample,
        st.binary(max_size=40),
        st.integers(0, 2**32 - 1),
        st.integers(-(2**31), 2**31 - 1),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@given(
    st.lists(st.tuples(st.integers(0, 2**63), samples_st), min_size=1, max_size=4),
    st.integers(1, 2**32 - 1),
)
def test_fragments_read_back_as_written(tracks: list, sequence: int) -> None:
    runs = [TrackRun(n, time, samples) for n, (time, samples) in enumerate(tracks, start=1)]
    read_sequence, got = read_fragment(fragment(sequence, runs))
    assert read_sequence == sequence
    for run, (track_id, time, entries, data) in zip(runs, got, strict=True):
        assert (track_id, time) == (run.track_id, run.decode_time)
        assert data == [s.data for s in run.samples]
        assert [(d, c) for d, _, _, c in entries] == [
            (s.duration, s.composition_offset) for s in run.samples
        ]
        assert [f == 0x02000000 for _, _, f, _ in entries] == [s.sync for s in run.samples]


def test_the_muxer_writes_avcc_samples_durations_and_offsets() -> None:
    muxer = FragmentMuxer([H264, AAC, Track(9, Codec.MP3)], first_dts=90_000)
    assert [t.id for t in muxer.tracks] == [1, 2]  # MP3 is not carried
    aud = b"\x09\xf0"
    frames = [
        Frame(H264, 90_000 + 6000, 90_000, True, nalus=(aud, b"\x65abc")),
        Frame(AAC, 90_000, 90_000, True, data=b"A1"),
        Frame(H264, 93_600 + 6000, 93_600, False, nalus=(b"\x41d", b"\x41e")),
        Frame(AAC, 91_920, 91_920, True, data=b"A2"),
        Frame(Track(9, Codec.MP3), 90_000, 90_000, True, data=b"mp3"),
    ]
    sequence, got = read_fragment(muxer.fragment(frames))
    assert sequence == 1
    video, audio = got
    assert video[:2] == (1, CLOCK_RATE)  # one second after the origin
    assert video[2] == [(3600, 8, 0x02000000, 6000), (3600, 12, 0x01010000, 6000)]
    assert video[3] == [b"\x00\x00\x00\x04\x65abc", b"\x00\x00\x00\x02\x41d\x00\x00\x00\x02\x41e"]
    assert audio[2] == [(1920, 2, 0x02000000, 0), (1920, 2, 0x02000000, 0)]
    # the next fragment: numbered on, the last duration carried over as the default
    sequence, got = read_fragment(muxer.fragment([Frame(AAC, 93_840, 93_840, True, data=b"A3")]))
    assert sequence == 2 and got[0][2] == [(1920, 2, 0x02000000, 0)] and got[0][1] == 93_840 - 0


def test_the_muxer_waits_for_parameter_sets() -> None:
    bare = Track(1, Codec.H264, width=320, height=240)
    muxer = FragmentMuxer([bare], 0)
    with pytest.raises(MuxerNotReady):
        muxer.init_segment()
    key = Frame(bare, 0, 0, True, nalus=(SPS, PPS, b"\x65x"))
    (trak,) = root(muxer.init_segment(key)).find(b"moov").all(b"trak")
    (avc1,) = trak.find(b"mdia", b"minf", b"stbl", b"stsd").children
    assert sample_entry_children(avc1, 78)[0].payload == h264.build_avc_config([SPS], [PPS])
    with pytest.raises(MuxerNotReady):
        FragmentMuxer([Track(2, Codec.AAC)], 0).init_segment()
    with pytest.raises(MuxerNotReady):
        FragmentMuxer([Track(2, Codec.OPUS)], 0).init_segment()
