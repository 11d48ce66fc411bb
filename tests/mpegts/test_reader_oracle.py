"""The TS reader gives exactly what the reader of e7b31a3 gave (``legacy_reader.py``).

One rule of the oracle was changed on purpose since: a video frame's keyframe flag comes
from its first VCL unit (``legacy_reader._first_vcl_key``); damaged access units can
differ from the old any-unit rule (byte flips here find such cases), conforming ones not.

Each case feeds the same bytes, cut the same way, to today's :class:`TSReader` and to the
frozen copy of the reader before the fourth sitting's changes (its PES, Annex B and
elementary decoding included), and compares every event (tracks and frames, bit for bit,
the types of the payloads too) and every counter. Inputs: ffmpeg clips of every codec pair
fed whole, in HTTP-sized reads, in datagrams and byte by byte; damage of every kind the
reader knows (dropped, desynced, garbage-padded and truncated packets, continuity errors,
duplicates, transport errors, lost payload-start bits, scrambling bits, adaptation fields
and PCR-only packets added, discontinuity flags); and hypothesis-made chunkings, byte
flips and packet headers.
"""

from __future__ import annotations

import random

import legacy_reader
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reader import _damage
from ts_helpers import CODEC_PAIRS, feed_all, frame_key, generated_packets

from headwater.media.annexb import split_annexb
from headwater.media.frames import Codec, Track
from headwater.media.mpegts import TSReader, elementary
from headwater.media.mpegts.crc32 import crc32_mpeg2

CHUNKINGS = [None, [65536], [29000], [188 * 64], [188 * 65 + 7], [1316], [4096, 100, 188 * 80]]
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _track(t) -> tuple:
    return (t.id, t.codec, t.width, t.height, t.config, t.sample_rate, t.channels,
            t.language, tuple(t.parameter_sets), t.extra.get("stream_type"))  # fmt: skip


def _key(event) -> tuple:
    if hasattr(event, "tracks"):
        return ("tracks", tuple(_track(t) for t in event.tracks))
    types = (type(event.data).__name__, *(type(n).__name__ for n in event.nalus))
    return (*frame_key(event), event.track.codec, types)


def _run(reader, data: bytes, chunks: list[int] | None) -> tuple[list, tuple]:
    events = feed_all(reader, data, chunks)
    counters = (reader.packets, reader.resyncs, dict(reader.cc_errors), reader.tei_errors,
                reader.dropped_pes, reader.pes_errors, reader.psi_errors, reader.pcr)  # fmt: skip
    return [_key(e) for e in events], counters


def assert_same(data: bytes, chunks: list[int] | None) -> list:
    """Today's reader and the oracle agree on ``data`` cut at ``chunks``; returns the events."""
    new = _run(TSReader(), data, chunks)
    old = _run(legacy_reader.TSReader(), data, chunks)
    assert new[0] == old[0]
    assert new[1] == old[1]
    return new[0]


def _packets(data: bytes) -> list[bytes]:
    return [data[i : i + 188] for i in range(0, len(data), 188)]


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
@pytest.mark.parametrize(("video", "audio"), CODEC_PAIRS)
def test_clean_clips(ts_clip, video, audio, chunks) -> None:
    events = assert_same(ts_clip(video, audio), chunks)
    assert sum(1 for e in events if e[0] != "tracks") > 50


def test_byte_at_a_time(ts_clip) -> None:
    data = ts_clip("h264", "aac")[: 188 * 400]
    assert_same(data, [1])
    assert_same(data, [187, 1, 189, 2])


@pytest.mark.parametrize("kind", ["drop", "sync", "garbage", "truncate"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_damaged_clips(ts_clip, kind, seed) -> None:
    data = _damage(ts_clip("h264", "aac"), random.Random(seed), kind, 8)
    assert_same(data, None)
    assert_same(data, [29000])
    assert_same(data, [random.Random(seed).randrange(1, 30000) for _ in range(9)])


def _set_bits(data: bytes, every: int, byte: int, bits: int, clear: bool = False) -> bytes:
    out = bytearray(data)
    for i in range(0, len(out) - 188, 188 * every):
        out[i + byte] = out[i + byte] & ~bits if clear else out[i + byte] | bits
    return bytes(out)


@pytest.mark.parametrize(
    ("byte", "bits", "every", "clear"),
    [(1, 0x20, 7, False), (1, 0x80, 97, False), (1, 0x40, 13, False), (1, 0x40, 3, True),
     (3, 0x20, 11, False), (3, 0xC0, 50, False), (3, 0x10, 41, True), (3, 0x0F, 29, False),
     (5, 0x80, 5, False)],
    ids=["priority", "tei", "pusi", "missing-pusi", "adaptation", "scrambled", "no-payload",
         "continuity", "discontinuity-flag"],
)  # fmt: skip
@pytest.mark.parametrize("chunks", [None, [29000], [1316]], ids=str)
def test_header_bits(ts_clip, byte, bits, every, clear, chunks) -> None:
    """Header and adaptation-field bits the plain-continuation tests must send the slow way
    (byte 5 is the adaptation field's flags where there is one, payload elsewhere)."""
    assert_same(_set_bits(ts_clip("h264", "aac"), every, byte, bits, clear), chunks)


def test_continuity_errors_duplicates_and_reordering(ts_clip) -> None:
    packets = _packets(ts_clip("h264", "aac"))
    for i in range(40, len(packets) - 2, 61):
        packets[i + 1] = packets[i]  # a duplicate replaces the next packet
    for i in range(70, len(packets) - 2, 83):
        packets[i], packets[i + 1] = packets[i + 1], packets[i]
    for i in range(100, len(packets) - 2, 97):
        del packets[i]
    data = b"".join(packets)
    for chunks in (None, [29000], [1316], [188 * 7 + 3]):
        assert_same(data, chunks)


def _pcr_only(pid: int, cc: int, pcr_base: int) -> bytes:
    """A packet with an adaptation field and no payload, carrying a PCR (afc 2)."""
    head = bytes((0x47, pid >> 8, pid & 0xFF, 0x20 | cc))
    pcr = ((pcr_base << 15) | 0x7E00).to_bytes(6, "big")
    return head + bytes((183, 0x10)) + pcr + b"\xff" * (183 - 7)


def test_pcr_only_packets_and_stuffing(ts_clip) -> None:
    """PCR-only packets on the video PID (the counter does not move without payload),
    null packets and packets of PIDs no table names, between the stream's own."""
    data = ts_clip("h264", "aac")
    pid = TSReader().feed(data)[0].tracks[0].id
    packets = _packets(data)
    out = []
    for i, p in enumerate(packets):
        out.append(p)
        if i % 37 == 20:
            last_cc = next(q[3] & 15 for q in reversed(out) if (q[1] << 8 | q[2]) & 0x1FFF == pid)
            out.append(_pcr_only(pid, last_cc, 900_000 + i * 300))
        if i % 23 == 5:
            out.append(b"\x47\x1f\xff\x10" + b"\xff" * 184)
        if i % 41 == 9:
            out.append(b"\x47\x07\x77" + bytes((0x10 | i % 16,)) + bytes(184))
    data = b"".join(out)
    for chunks in (None, [29000], [1316], [188 * 64]):
        assert_same(data, chunks)


@pytest.mark.parametrize("flags", [None, 0x00, 0x90, 0x10])
@pytest.mark.parametrize("aflen", [0, 1, 7, 181, 182, 183, 184, 255])
def test_adaptation_fields_on_pes_packets(ts_clip, aflen, flags) -> None:
    """PES packets with an adaptation field take the reader's short way (a payload start
    or a stuffed end with the expected counter); a bad length must still go the long way.
    Every other such packet of the stream gets ``aflen`` and, unless None, the flags
    byte (discontinuity, PCR) — the PCR read from whatever bytes follow."""
    packets = _packets(ts_clip("h264", "aac"))
    seen = 0
    for i, p in enumerate(packets):
        if p[3] & 0x30 == 0x30 and (p[1] << 8 | p[2]) & 0x1FFF not in (0, 0x11, 0x1000):
            seen += 1
            if seen % 2:
                flag = p[5:6] if flags is None else bytes((flags,))
                packets[i] = p[:4] + bytes((aflen,)) + flag + p[6:]
    assert seen > 4
    data = b"".join(packets)
    for chunks in (None, [29000], [1316]):
        assert_same(data, chunks)


def test_garbage_between_and_instead(ts_clip) -> None:
    rng = random.Random(7)
    packets = _packets(ts_clip("h264", "aac"))
    for i in range(30, len(packets), 53):
        packets[i] = bytes(rng.randrange(256) for _ in range(188))
    for i in range(45, len(packets), 71):
        packets[i] += b"\x47" * rng.randrange(1, 5) + bytes(rng.randrange(256) for _ in range(90))
    data = b"".join(packets)
    for chunks in (None, [29000], [1316], [777]):
        assert_same(data, chunks)


def test_pmt_change_mid_stream(ts_clip) -> None:
    data = ts_clip("h264", "aac") + ts_clip("h265", "mp3") + ts_clip("h264", "opus")
    for chunks in (None, [29000], [188 * 70 + 5], [1316]):
        assert_same(data, chunks)


def _psi_packets(data: bytes, pid: int) -> list[int]:
    return [off for off in range(0, len(data) - 187, 188)
            if ((data[off + 1] & 0x1F) << 8) | data[off + 2] == pid]  # fmt: skip


@pytest.mark.parametrize("chunks", [None, [29000], [1316]], ids=str)
def test_repeated_psi_changes_and_errors(ts_clip, chunks) -> None:
    """PAT and PMT repeats are skipped once they changed nothing (since the fifth
    sitting): a PMT that goes back and forth, a PAT and a PMT damaged the same way in
    every repeat (each counted again), a PMT whose section goes on into a second packet,
    a PAT naming another PMT PID and then the first again."""
    first, second = ts_clip("h264", "aac"), ts_clip("h265", "mp3")
    head = first[: 188 * 300]
    data = bytearray(head + second[: 188 * 300] + head + second[: 188 * 300] + head)
    pat = _psi_packets(bytes(data), 0)
    pmt = _psi_packets(bytes(data), 0x1000)
    bad = bytearray(data)
    for off in pat[5:9] + pmt[3:7]:
        bad[off + 12] ^= 0x40  # the same byte of each: its CRC fails every time
    other_pmt = bytearray(data)
    for off in pat[2:6]:  # the program's PMT on PID 0x1001 (CRC made anew), then back
        assert data[off + 4] == 0 and data[off + 5] == 0  # pointer 0, a PAT section
        end = off + 5 + 3 + (((data[off + 6] & 0x0F) << 8) | data[off + 7])
        other_pmt[off + 15 : off + 17] = b"\xf0\x01"  # the first program's PID
        other_pmt[end - 4 : end] = crc32_mpeg2(other_pmt[off + 5 : end - 4]).to_bytes(4, "big")
    cut = bytearray(data)
    for off in pmt[2:5]:  # a section that claims to run on into the next packet
        cut[off + 4 + 1 + 2] = 0xB0
    for case in (data, bad, other_pmt, cut):
        assert_same(bytes(case), chunks)


@SLOW
@given(st.lists(st.integers(1, 40000), min_size=1, max_size=12))
def test_any_chunking(ts_clip, chunks) -> None:
    assert_same(ts_clip("h264", "aac"), chunks)


@SLOW
@given(
    st.lists(st.tuples(st.integers(0, 60000), st.integers(0, 255)), min_size=1, max_size=40),
    st.sampled_from([None, [29000], [1316], [188 * 64], [5000, 17]]),
)
def test_flipped_bytes(ts_clip, flips, chunks) -> None:
    data = bytearray(ts_clip("h264", "aac")[:60160])
    for pos, value in flips:
        data[pos] = value
    assert_same(bytes(data), chunks)


HEADERS = st.lists(
    st.tuples(st.sampled_from([0x100, 0x100, 0x101, 0x0, 0x1000, 0x1FFF, 0x11]),
              st.sampled_from([0, 0, 0, 1, 2, 4]), st.none() | st.integers(0, 255),
              st.binary(min_size=4, max_size=4)),
    min_size=1, max_size=160,
)  # fmt: skip


@SLOW
@given(HEADERS, st.sampled_from([None, [29000], [188 * 64 + 1], [1316]]))
def test_generated_headers(ts_clip, headers, chunks) -> None:
    """After a real stream's PAT/PMT, packets with any flags and counters on known and
    unknown PIDs (the bodies copied from real packets, now and then a PES start); a None
    byte 3 is a plain continuation with the PID's next counter, so runs form."""
    data = ts_clip("h264", "aac")
    out = generated_packets(data, headers)
    assert_same(bytes(out) + data[188 * 30 : 188 * 200], chunks)


def _pes_starts(data: bytes) -> list[int]:
    """Where each PES begins in ``data`` (the payload of each packet with PUSI on a PES PID)."""
    starts = []
    for off in range(0, len(data) - 187, 188):
        pid = ((data[off + 1] & 0x1F) << 8) | data[off + 2]
        if data[off + 1] & 0x40 and pid in (0x100, 0x101):
            pos = off + 4 + (1 + data[off + 4] if data[off + 3] & 0x20 else 0)
            if pos + 19 <= off + 188:
                starts.append(pos)
    return starts


PES_HEADS = st.lists(
    st.tuples(st.integers(0, 5), st.integers(3, 18),
              st.sampled_from([0x00, 0x01, 0x80, 0x81, 0x40, 0xC0, 0xBC, 0xBD, 0xE0, 0xC0,
                               0x0E, 0x13, 0x05, 0x0A, 0xFF, 0x3F, 0x21, 0x31])),
    min_size=1, max_size=30,
)  # fmt: skip


@SLOW
@given(PES_HEADS, st.sampled_from([None, [29000], [1316]]))
def test_pes_headers(ts_clip, changes, chunks) -> None:
    """PES headers of every shape (the reader reads the usual one inline since the fifth
    sitting): stream ids with and without the optional header, PES lengths, marker bits,
    PTS/DTS flags and header lengths too short for them, reserved timestamp bits; counted
    and decoded as before."""
    data = bytearray(ts_clip("h264", "aac")[: 188 * 400])
    starts = _pes_starts(bytes(data))
    for which, offset, value in changes:
        data[starts[which % len(starts)] + offset] = value
    assert_same(bytes(data), chunks)


PES_CASES = {
    "DTS flag, header too short for it": {8: 5},
    "PTS flag, header too short for it": {7: 0x80, 8: 4},
    "no PTS": {7: 0x00},
    "DTS flag alone (forbidden)": {7: 0x40},
    "header length past the PES": {4: 0, 5: 12, 8: 20},
    "PES length past the data": {4: 0xFF, 5: 0xFF},
    "marker bits '01'": {6: 0x40},
    "stream id without the optional header": {3: 0xBE},
    "not a start code": {2: 0x02},
    "reserved timestamp bits": {9: 0xFF, 13: 0xFE, 14: 0x00},
}


@pytest.mark.parametrize("first", [0, 1, 2])
@pytest.mark.parametrize("change", PES_CASES.values(), ids=PES_CASES.keys())
def test_pes_header_table(ts_clip, change, first) -> None:
    data = bytearray(ts_clip("h264", "aac")[: 188 * 400])
    for pos in _pes_starts(bytes(data))[first : first + 2]:
        for offset, value in change.items():
            data[pos + offset] = value
    assert_same(bytes(data), None)


ANNEXB = st.lists(st.sampled_from([b"\x00", b"\x00\x00\x01", b"\x00\x00\x00\x01", b"\x01",
                                   b"\x03", b"\x65\x88", b"\xff"]), max_size=40)  # fmt: skip


@SLOW
@given(ANNEXB, st.integers(-2, 200), st.none() | st.integers(-2, 200))
def test_split_annexb_as_before(pieces, start, end) -> None:
    """The start-code scan (now ``re``) splits every buffer and range as before."""
    data = b"".join(pieces)
    assert split_annexb(data, start, end) == legacy_reader.split_annexb(data, start, end)


def _adts(size: int, crc: bool, blocks: int, freq: int, channels: int) -> bytes:
    head = 9 if crc else 7
    total = head + size
    return bytes((0xFF, 0xF0 | (0 if crc else 1), 0x40 | freq << 2 | channels >> 2,
                  (channels & 3) << 6 | total >> 11, (total >> 3) & 0xFF,
                  (total & 7) << 5 | 0x1F, 0xFC | (blocks - 1)))  # fmt: skip


ADTS = st.lists(
    st.tuples(st.integers(0, 300), st.booleans(), st.integers(1, 4), st.sampled_from([3, 4, 15]),
              st.integers(1, 2), st.none() | st.tuples(st.integers(0, 8), st.integers(0, 255))),
    min_size=1, max_size=12,
)  # fmt: skip


@SLOW
@given(ADTS, st.integers(0, 40), st.sampled_from([b"", b"\x11\x90"]))
def test_aac_frames_as_before(frames, cut, config) -> None:
    """ADTS runs with and without CRC, several raw blocks, reserved rates, damaged headers
    and a cut end give the same frames, track and next timestamp as before."""
    data = bytearray(b"\xaa\xbb")
    for size, crc, blocks, freq, channels, flip in frames:
        body = bytes(size + (2 if crc else 0))  # the CRC, then the raw data
        frame = bytearray(_adts(size, crc, blocks, freq, channels) + body)
        if flip is not None:
            frame[flip[0] % len(frame)] = flip[1]
        data += frame
    track = Track(0x101, Codec.AAC, config=config, sample_rate=48000 if config else 0)
    end = max(2, len(data) - cut)
    new = elementary.decode(track, bytes(data), 2, end, 90_000, 90_000)
    old = legacy_reader.decode(track, bytes(data), 2, end, 90_000, 90_000)
    assert [_key(f) for f in new[0]] == [_key(f) for f in old[0]]
    assert (new[1] and _track(new[1])) == (old[1] and _track(old[1]))
    assert new[2] == old[2]
