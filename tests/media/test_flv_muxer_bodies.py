""":meth:`FlvMuxer.bodies` (a player's turn in one pass) gives exactly what :meth:`FlvMuxer.frame`
gives frame by frame: the same tags as ``(kind, timestamp, body)`` tuples, the same drops.

Frames with and without a kept FLV body, AAC and Opus audio, a new configuration mid-stream
(a new Track object with the same id), a second track (dropped, or multitrack), codecs FLV
cannot carry and frames before their configuration, in turns of any size.
"""

from __future__ import annotations

import itertools
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.media import h264
from headwater.media.flv import FlvDemuxer, FlvMuxer
from headwater.media.flv import video as flv_video
from headwater.media.frames import Codec, Frame, MediaKind, Track

SPS = bytes.fromhex("6742c01e95a0a0fd0800000300080000030190")
PPS = bytes.fromhex("68ce3c80")
ASC = bytes.fromhex("1210")


def _kept_body_frame(ts: int, key: bool, nalus: list[bytes]) -> Frame:
    demux = FlvDemuxer()
    demux.video(0, flv_video.encode_video_config(Codec.H264, h264.build_avc_config([SPS], [PPS])))
    body = bytes(((1 if key else 2) << 4 | 7, 1, 0, 0, 40))
    body += b"".join(struct.pack(">I", len(n)) + n for n in nalus)
    (frame,) = demux.video(ts, body)
    assert frame.flv_body == body
    return frame


def _frames() -> list[Frame]:
    video = Track(1, Codec.H264, MediaKind.VIDEO, parameter_sets=(SPS, PPS))
    video2 = Track(1, Codec.H264, MediaKind.VIDEO, parameter_sets=(SPS, PPS))
    bare = Track(3, Codec.H264, MediaKind.VIDEO)  # no parameter sets: dropped until a keyframe
    aac = Track(2, Codec.AAC, MediaKind.AUDIO, config=ASC, sample_rate=44100, channels=2)
    opus = Track(4, Codec.OPUS, MediaKind.AUDIO, channels=2)
    data = Track(9, Codec.SCTE35)
    kept = _kept_body_frame(0, True, [b"\x65" * 50, b"\x06" * 3])
    return [
        Frame(aac, 0, 0, True, b"early"),
        kept,
        Frame(video, 3600, 3600, True, nalus=(b"\x65abc", b"\x06")),
        Frame(aac, 1800, 1800, True, b"a1"),
        _kept_body_frame(80, False, [b"\x41" * 9]),
        Frame(video, 7200, 5400, False, nalus=(b"\x41x",)),
        Frame(bare, 7200, 7200, False, nalus=(b"\x41y",)),
        Frame(bare, 9000, 9000, True, nalus=(SPS, PPS, b"\x65z")),
        Frame(opus, 9000, 9000, True, b"op"),
        Frame(data, 9000, 9000, True, b"scte"),
        Frame(video2, 10800, 10800, True, nalus=(b"\x65new",)),  # a new configuration
        Frame(aac, 10800, 10800, True, b"a2"),
        _kept_body_frame(125, False, [b"\x41" * 4, b"\x41" * 5]),
    ]


def _by_frame(mux: FlvMuxer, frames: list[Frame]) -> list[tuple[int, int, bytes]]:
    return [(t.kind, t.timestamp, t.data) for f in frames for t in mux.frame(f)]


@settings(max_examples=200, deadline=None)
@given(
    order=st.permutations(range(13)),
    cuts=st.lists(st.integers(0, 13), max_size=5),
    multitrack=st.booleans(),
)
def test_bodies_equal_frame_by_frame(order: list[int], cuts: list[int], multitrack: bool) -> None:
    frames = [_frames()[i] for i in order]
    old, new = FlvMuxer(multitrack), FlvMuxer(multitrack)
    bounds = [0, *sorted(cuts), len(frames)]
    got = []
    for start, end in itertools.pairwise(bounds):
        got += new.bodies(frames[start:end])
    assert got == _by_frame(old, frames)
    assert new.dropped == old.dropped


def test_table() -> None:
    frames = _frames()
    mux = FlvMuxer()
    got = mux.bodies(frames)
    assert got == _by_frame(FlvMuxer(), frames)
    assert got[3] == (9, 0, frames[1].flv_body)  # a kept body goes out as it came
    assert mux.bodies([]) == []
