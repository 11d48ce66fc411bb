"""Flussonic's track-selecting URLs: ``tracks-v1a1`` parsing, numbering and the HTTP side.

The HTTP cases publish synthetic H.264 + AAC through the real publish path and read the
segments under ``/NAME/tracks-SEL/`` back with TSReader: only the selected tracks are in them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest

from headwater.media.frames import Codec, Frame, Track
from headwater.media.mpegts import TSReader
from headwater.testing import running_server
from headwater_hls.plugin import hub_of
from headwater_hls.tracks import SelectedWindow, SelectionError, TrackSelection, number_tracks
from headwater_hls.window import SegmentWindow

sys.path.insert(0, str(Path(__file__).parents[1] / "core"))
sys.path.insert(0, str(Path(__file__).parent))
from core_helpers import request
from test_hls_http import CONFIG, ask_while_sending, send

pytestmark = pytest.mark.anyio

V1 = Track(3, Codec.H264)
V2 = Track(7, Codec.H265)
A1 = Track(1, Codec.AAC)
A2 = Track(5, Codec.MP3)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("v1a1", "v1a1"),
        ("a1", "a1"),
        ("v1", "v1"),
        ("a1v1", "a1v1"),
        ("v1a1a1", "v1a1"),  # a repeat is one pick
        ("v2a2", "v2a2"),
        ("t1", "t1"),
        ("v12", "v12"),
    ],
)
def test_selections_parse(text: str, key: str) -> None:
    assert TrackSelection.parse(text).key == key


@pytest.mark.parametrize("text", ["", "v", "v0", "x1", "v1b1", "V1", "v1 ", "v1/a1", "a1000"])
def test_bad_selections_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(SelectionError, match="bad track selection"):
        TrackSelection.parse(text)


def test_tracks_are_numbered_within_their_kind_by_id() -> None:
    numbered = number_tracks([V2, A2, V1, A1])
    assert numbered == {("v", 1): V1, ("v", 2): V2, ("a", 1): A1, ("a", 2): A2}
    assert TrackSelection.parse("a2v1").resolve([V1, V2, A1, A2]) == [A2, V1]
    with pytest.raises(SelectionError, match=r"no track a3, t1 .*its tracks: v1, v2, a1, a2"):
        TrackSelection.parse("v1a3t1").check([V1, V2, A1, A2])


def test_a_selected_window_is_fed_only_the_selected_tracks() -> None:
    inner = SegmentWindow(target=1.0, count=3, sequence=10, discontinuity=0)
    window = SelectedWindow(inner, TrackSelection.parse("a1"))
    window.start_publication([V1, A1], 0.0, 0)
    for i in range(100):
        window.feed(Frame(V1, i * 3600, i * 3600, i % 25 == 0, nalus=(b"\x65" + bytes(30),)))
        window.feed(Frame(A1, i * 3600, i * 3600, True, data=bytes(20)))
    window.end_publication()
    assert window.segments, "audio-only segments were cut"
    pids = set()
    for segment in window.segments:
        frames = [e for e in TSReader().feed(segment.data) if isinstance(e, Frame)]
        pids |= {f.track.codec for f in frames}
    assert pids == {Codec.AAC}
    assert window.next_sequence == inner.next_sequence  # the rest passes through


def codecs_in(data: bytes) -> set[Codec]:
    return {e.track.codec for e in TSReader().feed(data) if isinstance(e, Frame)}


@pytest.mark.parametrize(
    ("selection", "codecs", "attribute"),
    [
        ("v1a1", {Codec.H264, Codec.AAC}, 'CODECS="avc1.42c00b,mp4a.40.2"'),
        ("v1", {Codec.H264}, 'CODECS="avc1.42c00b"'),
        ("a1", {Codec.AAC}, 'CODECS="mp4a.40.2"'),
    ],
)
async def test_track_urls_serve_segments_of_the_selected_tracks(
    selection: str, codecs: set[Codec], attribute: str
) -> None:
    async with running_server(CONFIG, protocols=("http",)) as hw, httpx.AsyncClient() as http:
        base = f"live/cam/tracks-{selection}"
        async with hw.server.publish(request("live/cam")) as pub:
            await send(pub, 0, 30)
            master = await ask_while_sending(http, hw.http_url(f"{base}/index.m3u8"), pub, 30, 80)
            assert master.status_code == 200, master.text
            assert attribute in master.text
            assert master.text.rstrip().endswith("\nmono.m3u8")  # relative: tracks-SEL/mono
            media = await http.get(hw.http_url(f"{base}/mono.m3u8"))
            assert media.status_code == 200
            assert (await http.get(hw.http_url(f"{base}/video.m3u8"))).text == media.text
            uris = re.findall(r"^mono-\d+\.ts$", media.text, re.M)
            assert uris
            for uri in uris:
                segment = await http.get(hw.http_url(f"{base}/{uri}"))
                assert segment.status_code == 200
                assert segment.headers["content-type"] == "video/mp2t"
                assert codecs_in(segment.content) == codecs
            # the selection runs beside (not instead of) the HLS of every track
            assert set(hub_of(hw.server).running) == {("live/cam", f"tracks-{selection}")}
            whole = await ask_while_sending(http, hw.http_url("live/cam/mono.m3u8"), pub, 110, 30)
            assert whole.status_code == 200
            assert ("live/cam", "") in hub_of(hw.server).running


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("tracks-v2/mono.m3u8", "no track v2 in this stream (its tracks: v1, a1)"),
        ("tracks-v1a2/index.m3u8", "no track a2"),
        ("tracks-t1/mono.m3u8", "no track t1"),
        ("tracks-x1/mono.m3u8", "bad track selection 'x1'"),
        ("tracks-v1a1/mono-1.ts", "has no HLS segment"),
    ],
)
async def test_unknown_track_selections_are_404_with_a_reason(path: str, reason: str) -> None:
    async with (
        running_server(CONFIG, protocols=("http",)) as hw,
        httpx.AsyncClient() as http,
        hw.server.publish(request("live/cam")) as pub,
    ):
        await send(pub, 0, 30)
        reply = await http.get(hw.http_url(f"live/cam/{path}"))
        assert reply.status_code == 404
        assert reason in reply.text and "live/cam" in reply.text
        assert reply.headers["access-control-allow-origin"] == "*"
        assert hub_of(hw.server).running == {}
