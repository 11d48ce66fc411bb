"""The play path (DESIGN §3): ``server.playable`` and ``server.play`` find a live stream,
refuse clearly, and hand back a subscription that starts at a keyframe."""

from __future__ import annotations

import contextlib
import logging

import anyio
import pytest
from core_helpers import core_server, frame_index, request, video

from headwater import PlayRejected, PlayRequest, Refusal, Stream
from headwater.config.models import Limits, StreamSettings
from headwater.play_path import playable
from headwater.registry import StreamRegistry

SETTINGS = StreamSettings(name="live", prefixes=["live"])


def registry_with(name: str, *, live: bool) -> tuple[StreamRegistry, Stream]:
    streams = StreamRegistry(Limits())
    stream = streams.ensure(name, SETTINGS, static=False, location="live")
    if live:
        stream.begin({"proto": "test", "ip": "127.0.0.1", "port": 1})
    return streams, stream


def player(name: str, proto: str = "rtmp") -> PlayRequest:
    return PlayRequest(proto=proto, name=name, peer=("127.0.0.1", 50000))


REFUSALS = [
    ("live/nobody", Refusal.NOT_FOUND, "no stream 'live/nobody'"),
    ("live/idle", Refusal.NOT_FOUND, "stream 'live/idle' is not live"),
    ("live/../etc", Refusal.BAD_NAME, "'..' path segment"),
    ("", Refusal.BAD_NAME, "the stream name is empty"),
    ("live/a b", Refusal.BAD_NAME, "characters other than"),
]


@pytest.mark.parametrize(("name", "refusal", "reason"), REFUSALS)
def test_refusals_name_their_reason(name, refusal, reason, caplog) -> None:
    streams, _ = registry_with("live/idle", live=False)
    with caplog.at_level(logging.WARNING, "headwater.play"), pytest.raises(PlayRejected) as info:
        playable(streams, player(name))
    assert info.value.refusal is refusal and reason in info.value.reason
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("refused rtmp play from 127.0.0.1") and reason in line


def test_a_live_stream_is_playable_and_describes_its_tracks() -> None:
    streams, stream = registry_with("live/cam", live=True)
    stream.put(video(0))
    found = playable(streams, player("live/cam", "rtsp"))
    assert found is stream and [t.codec for t in found.tracks] == ["h264"]


def test_the_refusal_reads_as_http_status() -> None:
    assert PlayRejected(Refusal.NOT_FOUND, "x").http_status == 404
    assert PlayRejected(Refusal.BAD_NAME, "x").http_status == 400


def test_the_subscription_is_named_after_the_player() -> None:
    assert player("live/cam", "mpegts").who == "mpegts-play 127.0.0.1:50000"
    assert PlayRequest(proto="hls", name="x").who == "hls-play"


@pytest.mark.anyio
async def test_play_starts_at_a_keyframe_and_ends_with_the_publication() -> None:
    async with core_server() as hw, contextlib.AsyncExitStack() as playing:
        with anyio.fail_after(5):
            async with hw.server.publish(request("live/cam1")) as pub:
                for i in range(30):  # GOP 25: the last keyframe is frame 25
                    pub.send(video(i))
                sub = await playing.enter_async_context(hw.server.play(player("live/cam1")))
                stream = hw.server.streams.get("live/cam1")
                assert stream is not None and sub.tracks == stream.tracks
                assert [s.name for s in stream.subscriptions] == ["rtmp-play 127.0.0.1:50000"]
                for i in range(30, 40):
                    pub.send(video(i))
            got = [frame async for frame in sub]  # ends: the publisher left
            assert got[0].keyframe and [frame_index(f) for f in got] == list(range(25, 40))
        await playing.aclose()
        assert stream.subscriptions == []


@pytest.mark.anyio
async def test_play_refuses_on_entry() -> None:
    async with core_server() as hw:
        with pytest.raises(PlayRejected) as info:
            async with hw.server.play(player("live/nobody")):
                pytest.fail("a refused player got a subscription")
        assert info.value.refusal is Refusal.NOT_FOUND
