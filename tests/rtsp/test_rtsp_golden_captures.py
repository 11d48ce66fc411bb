"""Golden captures (``tests/data/rtsp/``, made by ``capture_golden.py`` from real ffmpeg and
GStreamer publishers): every byte the publisher sent, parsed whole and in pieces, driven
through the session and the adapter into frames; the frames then round-trip through the
packetizers and back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.media import h264
from headwater.media.rtp.formats import media_for_track, track_from_media
from headwater_rtsp.adapter import PlayAdapter, PublishAdapter
from headwater_rtsp.wire.message import Interleaved, MessageReader, Request
from headwater_rtsp.wire.session import Announce, RecordStarted, ServerSession, TornDown

DATA = Path(__file__).resolve().parent.parent / "data" / "rtsp"
CAPTURES = {
    # name: (video frames, keyframes, audio frames at least)
    "ffmpeg-h264-aac-tcp.bin": (15, 2, 25),
    "gstreamer-h264-aac-tcp.bin": (12, 3, 10),  # x264enc opens with two IDRs
}


def events(data: bytes, step: int, whole: bool = True) -> list:
    reader = MessageReader()
    out = []
    for i in range(0, len(data), step):
        out += reader.feed(data[i : i + step])
    assert reader.buffered == 0 or not whole
    return out


def replay(data: bytes, step: int = 1 << 20):
    """Drive a server session and adapter with a capture; the frames and the methods seen."""
    seen = events(data, step)
    requests = [e for e in seen if isinstance(e, Request)]
    session_id = next(
        r.headers["Session"].split(";")[0] for r in requests if "Session" in r.headers
    )
    session = ServerSession(session_id=session_id)
    adapter = None
    channels: dict[int, tuple[int, bool]] = {}
    frames = []
    methods = []
    for event in seen:
        if isinstance(event, Interleaved):
            index, rtcp = channels[event.channel]
            if rtcp:
                adapter.rtcp(index, event.data, 1.0)
            else:
                frames += adapter.rtp(index, event.data, 1.0)
            continue
        methods.append(event.method)
        response, happened = session.receive(event)
        if isinstance(happened, Announce):
            response = session.accept_announce(event)
        assert response.status == 200, (event.method, response.headers)
        if isinstance(happened, RecordStarted):
            adapter = PublishAdapter(session.received)
            for m in happened.media:
                channels[m.channels[0]] = (m.index, False)
                channels[m.channels[1]] = (m.index, True)
        if isinstance(happened, TornDown):
            frames += adapter.flush()
    return frames, methods, adapter


@pytest.mark.parametrize("name", sorted(CAPTURES))
@pytest.mark.parametrize("step", [1, 7, 1400, 1 << 20])
def test_capture_replays(name, step):
    data = (DATA / name).read_bytes()
    if step == 1:
        data = data[:4000]  # byte by byte: the requests and the first packets
        first = events(data, 1, whole=False)
        assert first == events(data, 1 << 20, whole=False) and len(first) > 5
        return
    frames, methods, adapter = replay(data, step)
    assert methods[:2] == ["OPTIONS", "ANNOUNCE"] and "RECORD" in methods
    assert methods[-1] == "TEARDOWN"
    video = [f for f in frames if f.track.is_video]
    audio = [f for f in frames if f.track.is_audio]
    count, keys, min_audio = CAPTURES[name]
    assert len(video) == count and sum(f.keyframe for f in video) == keys
    assert len(audio) >= min_audio
    assert all(f.keyframe == h264.is_keyframe(f.nalus) for f in video)
    assert [f.dts for f in video] == sorted(f.dts for f in video)
    assert all(f.dts <= f.pts for f in video)
    assert (adapter.lost, adapter.dropped, adapter.malformed) == (0, 0, 0)


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_capture_frames_round_trip(name):
    frames, _, _ = replay((DATA / name).read_bytes())
    tracks = {f.track.id: f.track for f in frames}
    ordered = [tracks[k] for k in sorted(tracks)]
    sent = [media_for_track(t, 96 + i, f"trackID={i}") for i, t in enumerate(ordered)]
    player = PlayAdapter(sent, [t.id for t in ordered], wall_clock=0.0)
    again = PublishAdapter([track_from_media(s.media, i) for i, s in enumerate(sent)])
    out = []
    for frame in frames:
        for index, rtcp, packet in player.packets(frame):
            if not rtcp:
                out += again.rtp(index, packet, 1.0)
    out += again.flush()
    assert len(out) == len(frames)
    by_kind = {
        kind: (
            [f for f in frames if f.track.kind == kind],
            [f for f in out if f.track.kind == kind],
        )
        for kind in {f.track.kind for f in frames}
    }

    def payload(frame):
        """Keyframes sent to a player carry the parameter sets in front: compare without."""
        return tuple(n for n in frame.nalus if h264.nal_type(n) not in (7, 8)) or frame.data

    for before, after in by_kind.values():
        assert [payload(f) for f in after] == [payload(f) for f in before]
        shift = after[0].pts - before[0].pts
        assert [f.pts - shift for f in after] == [f.pts for f in before]
        assert [f.keyframe for f in after] == [f.keyframe for f in before]
