"""The one-pass RTSP/TCP ingest path is the per-packet path, only faster: the reader's
zero-copy ``feed_packets`` gives the same messages as ``feed``, and the adapter's
``interleaved`` (a whole read at once, middle fragments taken in place) gives the same
frames as feeding every packet to ``rtp`` one by one, for real captures and for random
streams with loss, duplicates, reordering and garbage, cut into reads anywhere."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.media.frames import Codec, Track
from headwater.media.rtp.formats import media_for_track, track_from_media
from headwater.media.rtp.packet import rtp_header
from headwater_rtsp.adapter import PublishAdapter
from headwater_rtsp.wire.message import Headers, Interleaved, MessageReader, Request, interleaved

DATA = Path(__file__).resolve().parent.parent / "data" / "rtsp"
SPS = bytes.fromhex("6742c01e8c8d40f0044020")
PPS = bytes.fromhex("68ce3c80")
VPS = bytes.fromhex("40010c01ffff016000000300b0000003000003005d")
SPS5 = bytes.fromhex("420101016000000300b0000003000003005da00280802d16")
PPS5 = bytes.fromhex("4401c172b46240")


def bulk(adapter: PublishAdapter, reads: list[bytes]) -> list:
    """What the connection does with each read: finish a frame the last read cut, take the
    whole frames in one pass, hand the rest to the reader."""
    reader = MessageReader()
    frames = []
    for data in reads:
        pos = 0
        if reader.buffered:
            frame, pos = reader.finish_frame(data)
            if frame is not None:
                frames += adapter.packet(*frame, 1.0)
        if not reader.buffered:
            got, pos = adapter.interleaved(data, 1.0, pos)
            frames += got
        if pos < len(data):
            packets, rest = reader.feed_packets(data[pos:], 1.0)
            assert all(type(e) is tuple for e in rest)  # no requests in these streams
            for channel, packet in [*packets, *rest]:
                frames += adapter.packet(channel, packet, 1.0)
    return frames + adapter.flush()


def one_by_one(adapter: PublishAdapter, stream: bytes, channels: dict[int, tuple[int, bool]]):
    frames = []
    for event in MessageReader().feed(stream):
        index, rtcp = channels[event.channel]
        if rtcp:
            adapter.rtcp(index, event.data, 1.0)
        else:
            frames += adapter.rtp(index, event.data, 1.0)
    return frames + adapter.flush()


def key(frames: list) -> list:
    return [
        (f.track.id, f.track.parameter_sets, f.pts, f.dts, f.keyframe, f.data, f.nalus)
        for f in frames
    ]


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    reads, pos, i = [], 0, 0
    while pos < len(data):
        step = sizes[i % len(sizes)] if sizes else len(data)
        reads.append(data[pos : pos + step])
        pos += step
        i += 1
    return reads


def routed(formats, channels) -> PublishAdapter:
    adapter = PublishAdapter(formats)
    for channel, (index, rtcp) in channels.items():
        adapter.route(channel, index, rtcp)
    return adapter


# -- the reader ------------------------------------------------------------------------------

MIXED = (
    interleaved(0, bytes(range(200)))
    + Request("OPTIONS", "rtsp://h/x", Headers([("CSeq", "1")])).to_bytes()
    + interleaved(1, b"\x81\xc9\x00\x01abcd")
    + b"\r\n"
    + Request("ANNOUNCE", "rtsp://h/x", Headers([("CSeq", "2")]), b"v=0\r\n").to_bytes()
    + interleaved(2, b"")
    + interleaved(0, bytes(1400))
)


def _as_feed(packets, rest):
    out = [Interleaved(c, bytes(p)) for c, p in packets]
    return out + [Interleaved(e[0], bytes(e[1])) if type(e) is tuple else e for e in rest]


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 64, 1400, 1 << 20])
def test_feed_packets_equals_feed_in_any_split(step):
    expected = MessageReader().feed(MIXED)
    reader = MessageReader()
    got = []
    for i in range(0, len(MIXED), step):
        got += _as_feed(*reader.feed_packets(MIXED[i : i + step], 1.0))
    assert got == expected and len(expected) == 6
    assert reader.buffered == 0 and reader.oldest_started() is None


def test_feed_packets_slices_the_read_without_copying():
    data = interleaved(0, b"a" * 100) + interleaved(1, b"b" * 50)
    packets, rest = MessageReader().feed_packets(data)
    assert rest == [] and [c for c, _ in packets] == [0, 1]
    assert all(isinstance(p, memoryview) and p.obj is data for _, p in packets)


def test_a_frame_cut_by_a_read_is_finished_from_the_next():
    frame = interleaved(3, bytes(range(100)))
    reader = MessageReader()
    assert reader.feed_packets(frame[:2], 5.0) == ([], [])
    assert reader.finish_frame(b"\x00") == (None, 0)  # the length is not known yet
    assert reader.feed_packets(frame[2:30], 6.0) == ([], [])
    assert reader.oldest_started() == 5.0
    assert reader.finish_frame(b"") == (None, 0)
    got, used = reader.finish_frame(frame[30:] + b"$")
    assert got == (3, bytes(range(100))) and used == len(frame) - 30
    assert reader.buffered == 0 and reader.oldest_started() is None
    assert reader.finish_frame(frame) == (None, 0)  # nothing buffered: nothing to finish


@given(st.lists(st.integers(1, 300), min_size=1, max_size=8))
def test_fuzz_feed_packets_splits(sizes):
    reader = MessageReader()
    got = []
    for data in cut(MIXED, sizes):
        got += _as_feed(*reader.feed_packets(data))
    assert got == MessageReader().feed(MIXED)


# -- the adapter -----------------------------------------------------------------------------


def _capture(name: str):
    """The SDP formats, channels and interleaved frames of a golden capture."""
    from headwater_rtsp.wire.session import Announce, RecordStarted, ServerSession

    data = (DATA / name).read_bytes()
    session = ServerSession()
    channels: dict[int, tuple[int, bool]] = {}
    media = bytearray()
    for event in MessageReader().feed(data):
        if isinstance(event, Interleaved):
            media += event.to_bytes()
            continue
        if "Session" in event.headers:
            event.headers["Session"] = session.session_id
        _, happened = session.receive(event)
        if isinstance(happened, Announce):
            session.accept_announce(event)
        if isinstance(happened, RecordStarted):
            for m in happened.media:
                channels[m.channels[0]] = (m.index, False)
                channels[m.channels[1]] = (m.index, True)
    return session.received, channels, bytes(media)


@pytest.mark.parametrize("name", ["ffmpeg-h264-aac-tcp.bin", "gstreamer-h264-aac-tcp.bin"])
@pytest.mark.parametrize("sizes", [[], [1], [7, 1400], [1300, 1500, 64], [65536]])
def test_golden_captures_bulk_equals_one_by_one(name, sizes):
    formats, channels, media = _capture(name)
    expected = key(one_by_one(PublishAdapter(formats), media, channels))
    assert len(expected) > 20
    formats, channels, media = _capture(name)
    assert key(bulk(routed(formats, channels), cut(media, sizes))) == expected


def _stream(
    codec: Codec, rng: random.Random, count: int, mtu: int, damage: bool = True
) -> tuple[list, bytes]:
    """A video medium of ``codec`` (FU and single NAL packets) and AAC audio, interleaved
    on channels 0-3, with some packets lost, duplicated, swapped or mangled."""
    if codec is Codec.H264:
        video = Track(0, codec, parameter_sets=(SPS, PPS))
        slices = [bytes([0x65]), bytes([0x41])]
    else:
        video = Track(0, codec, parameter_sets=(VPS, SPS5, PPS5))
        slices = [bytes([0x26, 0x01]), bytes([0x02, 0x01])]
    audio = Track(1, Codec.AAC, config=bytes.fromhex("1190"))
    sent = [media_for_track(video, 96, "trackID=0"), media_for_track(audio, 97, "trackID=1")]
    formats = [track_from_media(s.media, i) for i, s in enumerate(sent)]
    packets: list[tuple[int, bytes]] = []
    seq = [rng.randrange(65536), rng.randrange(65536)]
    for n in range(count):
        size = rng.choice([10, 900, 3000, 9000])
        nalus = [slices[n % 5 != 0] + rng.randbytes(size)]
        if n % 5 == 0:
            nalus = [*video.parameter_sets, *nalus]
        for body, marker in sent[0].packetize(nalus, mtu):
            header = rtp_header(96, marker, seq[0], 3000 * n, 1234)
            packets.append((0, header + body))
            seq[0] = (seq[0] + 1) & 0xFFFF
        if n % 2:
            for body, marker in sent[1].packetize(rng.randbytes(rng.randrange(1, 400))):
                header = rtp_header(97, marker, seq[1], 1024 * n, 99)
                packets.append((2, header + body))
                seq[1] = (seq[1] + 1) & 0xFFFF
    for _ in range(
        rng.randrange(6) if damage else 0
    ):  # loss, duplicates, swaps, garbage, foreign channels
        i = rng.randrange(len(packets))
        what = rng.randrange(5)
        if what == 0:
            del packets[i]
        elif what == 1:
            packets.insert(i, packets[i])
        elif what == 2 and i + 1 < len(packets):
            packets[i], packets[i + 1] = packets[i + 1], packets[i]
        elif what == 3:
            packets[i] = (packets[i][0], rng.randbytes(rng.randrange(20)))
        else:
            packets.insert(i, (rng.choice([1, 3, 7]), rng.randbytes(rng.randrange(40))))
    stream = b"".join(interleaved(c, p) for c, p in packets)
    return formats, stream


CHANNELS = {0: (0, False), 1: (0, True), 2: (1, False), 3: (1, True), 7: (5, False)}


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([Codec.H264, Codec.H265]),
    st.integers(0, 2**32),
    st.integers(20, 1400),
    st.lists(st.integers(1, 5000), max_size=6),
)
def test_fuzz_bulk_equals_one_by_one(codec, seed, mtu, sizes):
    formats, stream = _stream(codec, random.Random(seed), 12, mtu)
    expected = one_by_one(PublishAdapter(formats), stream, CHANNELS)
    formats, stream = _stream(codec, random.Random(seed), 12, mtu)
    adapter = routed(formats, CHANNELS)
    assert key(bulk(adapter, cut(stream, sizes))) == key(expected)


@pytest.mark.parametrize("codec", [Codec.H264, Codec.H265])
def test_middle_fragments_are_taken_in_place(codec):
    formats, stream = _stream(codec, random.Random(1), 6, 200, damage=False)
    adapter = routed(formats, CHANNELS)
    video = adapter._media[0]
    seen = []
    push = video.push_fields
    video.push_fields = lambda *a: seen.append(a) or push(*a)
    frames, used = adapter.interleaved(stream, 1.0)
    assert used == len(stream) and len(frames) == 6 + 3  # every AU ends at its marker
    packets = MessageReader().feed_packets(stream)[0]
    if codec is Codec.H264:
        middle = [p for c, p in packets if c == 0 and p[12] & 0x1F == 28 and not p[13] & 0xC0]
    else:
        middle = [p for c, p in packets if c == 0 and p[12] >> 1 == 49 and not p[14] & 0xC0]
    video_packets = sum(1 for c, _ in packets if c == 0)
    assert len(middle) > 20 and len(seen) == video_packets - len(middle)
