"""The TS reader's video frames hold their access unit as received (``Frame.from_annexb``).

A frame keeps its PES (and, a keyframe, the bounds of its NAL units; a frame that is not
a keyframe is not even scanned, see ``test_carried_access_units.py``); its units are cut
only when a consumer asks for ``nalus``, and the TS writer reads them as views
(``nalu_views``) without cutting them. These cases check the frame on its own (bytes and
bytearray buffers) and the reader's frames through the writer: the same bytes as the same
frames with their units cut first, frame by frame and in batches, and still uncut after.
(That the units equal the old reader's is ``test_reader_oracle.py``'s part.)
"""

from __future__ import annotations

import pytest
from test_writer_bulk import write_in_batches

from headwater.media.annexb import annexb_bounds
from headwater.media.frames import Codec, Frame, Track
from headwater.media.mpegts import TracksChanged, TSReader, TSWriter, elementary

TRACK = Track(256, Codec.H264)
AU = b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x06\x05\x01\x80\x00\x00\x01\x41" + bytes(range(1, 90))


@pytest.mark.parametrize("wrap", [bytes, bytearray])
def test_a_frame_cuts_its_units_once_when_asked(wrap) -> None:
    buffer = wrap(b"\x00" * 7 + AU)
    bounds = annexb_bounds(buffer, 7)
    frame = Frame.from_annexb(TRACK, 3000, 0, False, buffer, bounds, 95)
    assert frame.size == 95 and frame.data == b"" and frame.flv_body == b""
    views = frame.nalu_views()
    assert all(type(v) is memoryview for v in views)
    expected = (b"\x09\xf0", b"\x06\x05\x01\x80", b"\x41" + bytes(range(1, 90)))
    assert tuple(bytes(v) for v in views) == expected
    units = frame.nalus
    assert units == expected and all(type(u) is bytes for u in units)
    assert frame.nalus is units and frame.nalu_views() is units
    frame.nalus = (b"\x65\x88",)
    assert frame.nalus == (b"\x65\x88",) and frame.size == 2


def _video_frames(data: bytes) -> tuple[list[Track], list[Frame]]:
    reader = TSReader()
    events = reader.feed(data) + reader.flush()
    tracks = next(e.tracks for e in events if type(e) is TracksChanged)
    frames = [e for e in events if type(e) is Frame and e.track.codec in (Codec.H264, Codec.H265)]
    return list(tracks), frames


@pytest.mark.parametrize("video", ["h264", "h265"])
def test_the_readers_frames_mux_as_their_cut_units_do(ts_clip, video) -> None:
    data = ts_clip(video, "aac")
    tracks, held = _video_frames(data)
    _, cut = _video_frames(data)
    cut = [Frame(f.track, f.pts, f.dts, f.keyframe, nalus=f.nalus) for f in cut]
    lazy = [f for f in held if not f.keyframe]
    assert len(lazy) > 20 and all(f._nalus is None for f in lazy)
    one, other = TSWriter(tracks), TSWriter(tracks)
    for i, (a, b) in enumerate(zip(cut, held, strict=True)):
        assert bytes(other.write(b)) == bytes(one.write(a)), f"frame {i}"
        assert elementary.encode(b) == elementary.encode(a)
    for sizes in (3, 10**6):
        assert write_in_batches(held, tracks, sizes) == write_in_batches(cut, tracks, sizes)
    assert all(f._nalus is None for f in lazy), "the writer cut the units of a held frame"
    assert [f.nalus for f in held] == [f.nalus for f in cut]
