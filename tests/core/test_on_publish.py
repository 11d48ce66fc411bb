"""``on_publish`` (DESIGN §1): an HTTP handler started by the test, and in-process callables."""

from __future__ import annotations

import itertools
import json
import socket
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import publish_handlers
import pytest
from core_helpers import (
    H264,
    PUBLISH,
    Reply,
    audio,
    core_server,
    frame_index,
    http_peer,
    request,
    video,
)

from headwater import Frame, PublishRejected, Refusal, hookimpl
from headwater.media.flv.demuxer import FlvDemuxer
from headwater.media.flv.tags import FlvReader, FlvTag


class RecordSpy:
    """A test plugin remembering every ``record`` call."""

    def __init__(self) -> None:
        self.paths: list[tuple[str, str | None]] = []

    @hookimpl
    def record(self, server: Any, stream: Any, settings: Any, path: str | None) -> None:
        self.paths.append((stream.name, path))


def template(url: str, timeout: float = 2.0, **kw: Any) -> dict[str, Any]:
    """A config whose ``chats`` prefix asks ``url`` before each publication."""
    return {
        "templates": [
            {
                "name": "chats",
                "prefixes": ["chats"],
                "inputs": PUBLISH,
                "on_publish": {"url": url, "timeout": timeout},
                **kw,
            }
        ]
    }


def by_token(method: str, path: str, body: bytes) -> Reply:
    """200 for token=good (with an x-record path), 403 for token=bad, 500 otherwise."""
    token = json.loads(body)["args"].get("token")
    if token == "good":
        return Reply(200, b"ok", {"x-record": "records/chat.flv"})
    if token == "slow":
        return Reply(200, delay=2.0)
    if token == "trickle":  # every header line comes before the timeout, the whole never does
        return Reply(200, trickle=0.2)
    return Reply(403 if token == "bad" else 500)


@pytest.mark.anyio
async def test_http_handler_decides_and_names_a_recording() -> None:
    spy = RecordSpy()
    with http_peer(by_token) as peer:
        config = template(peer.base + "/publish-check", timeout=0.5)
        async with core_server(config, extra_plugins=[spy]) as hw:
            req = request("chats/my/chat-15", proto="rtmp", token="good", user="ann")
            req.peer = ("192.0.2.7", 5555)
            async with hw.server.publish(req) as pub:
                assert pub.name == "chats/my/chat-15"

            refusals = {}
            for token in ("bad", "other", "slow", "trickle"):
                with pytest.raises(PublishRejected) as info:
                    async with hw.server.publish(request("chats/x", token=token)):
                        pytest.fail(f"token {token} was accepted")
                refusals[token] = (info.value.refusal, info.value.reason)

    first = peer.requests[0]
    assert first["method"] == "POST" and first["path"] == "/publish-check"
    assert first["json"] == {
        "name": "chats/my/chat-15",
        "location": "chats",
        "proto": "rtmp",
        "args": {"token": "good", "user": "ann"},
        "ip": "192.0.2.7",
    }
    assert spy.paths == [("chats/my/chat-15", "records/chat.flv")]
    assert refusals["bad"] == (Refusal.FORBIDDEN, "on_publish handler answered 403")
    assert refusals["other"] == (Refusal.UNAUTHORIZED, "on_publish handler answered 500")
    assert refusals["slow"] == (
        Refusal.UNAUTHORIZED,
        "on_publish handler did not answer within 0.5s",
    )
    assert refusals["trickle"] == refusals["slow"]
    assert len(peer.requests) == 5


@pytest.mark.anyio
async def test_unreachable_handler_denies() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with core_server(template(f"http://127.0.0.1:{port}/check")) as hw:
        with pytest.raises(PublishRejected) as info:
            async with hw.server.publish(request("chats/a")):
                pass
    assert info.value.refusal is Refusal.UNAUTHORIZED
    assert "unreachable" in info.value.reason


@pytest.mark.anyio
async def test_password_and_handler_both_apply() -> None:
    with http_peer(by_token) as peer:
        async with core_server(template(peer.base, password="pw")) as hw:
            with pytest.raises(PublishRejected, match="wrong password"):
                async with hw.server.publish(request("chats/a", token="good", password="no")):
                    pass
            with pytest.raises(PublishRejected, match="answered 403"):
                async with hw.server.publish(request("chats/a", token="bad", password="pw")):
                    pass
            async with hw.server.publish(request("chats/a", token="good", password="pw")):
                pass


PYTHON_CASES = [
    # handler, token, allowed, refusal, reason words
    ("allow_sync", "good", True, None, ""),
    ("allow_sync", "bad", False, Refusal.UNAUTHORIZED, "denied the publication"),
    ("allow_async", "good", True, None, ""),
    ("allow_async", "bad", False, Refusal.FORBIDDEN, "token refused by the async handler"),
    ("too_slow", "good", False, Refusal.UNAUTHORIZED, "did not answer within 0.3s"),
    ("broken", "good", False, Refusal.UNAUTHORIZED, "handler failed: RuntimeError"),
    ("not_callable", "good", False, Refusal.UNAUTHORIZED, "handler failed: ValueError"),
    ("no_such_function", "good", False, Refusal.UNAUTHORIZED, "handler failed: AttributeError"),
]


@pytest.mark.anyio
async def test_python_handlers() -> None:
    publish_handlers.CALLS.clear()
    templates = [
        template(f"python:publish_handlers:{handler}", timeout=0.3)["templates"][0]
        | {"name": handler, "prefixes": [handler]}
        for handler in dict.fromkeys(case[0] for case in PYTHON_CASES)
    ]
    async with core_server({"templates": templates}) as hw:
        for handler, token, allowed, refusal, words in PYTHON_CASES:
            req = request(f"{handler}/cam", proto="srt", token=token)
            if allowed:
                async with hw.server.publish(req) as pub:
                    assert pub.name == f"{handler}/cam"
                continue
            with pytest.raises(PublishRejected) as info:
                async with hw.server.publish(req):
                    pytest.fail(f"{handler} {token} accepted")
            assert info.value.refusal is refusal, handler
            assert words in info.value.reason, (handler, info.value.reason)
    assert publish_handlers.CALLS[0] == {
        "name": "allow_sync/cam",
        "location": "allow_sync",
        "proto": "srt",
        "args": {"token": "good"},
        "ip": "127.0.0.1",
    }
    assert len(publish_handlers.CALLS) == 4


@pytest.mark.anyio
async def test_python_handler_can_name_a_recording() -> None:
    spy = RecordSpy()
    config = template("python:publish_handlers:record_into")
    async with (
        core_server(config, extra_plugins=[spy]) as hw,
        hw.server.publish(request("chats/room")),
    ):
        pass
    assert spy.paths == [("chats/room", "rec/chats/room.flv")]


@pytest.mark.anyio
async def test_without_a_recording_path_record_gets_none() -> None:
    spy = RecordSpy()
    async with core_server(extra_plugins=[spy]) as hw, hw.server.publish(request("live/a")):
        pass
    assert spy.paths == [("live/a", None)]


def read_flv(path: Path) -> list[Frame]:
    """The frames of an FLV file, through the core's own FLV reader and demuxer."""
    frames: list[Frame] = []
    demuxer = FlvDemuxer()
    for item in FlvReader().feed(path.read_bytes()):
        if isinstance(item, FlvTag):
            frames.extend(demuxer.tag(item))
    return frames


@pytest.mark.anyio
async def test_x_record_writes_an_endless_flv_into_the_data_dir(tmp_path: Path) -> None:
    config = template("python:publish_handlers:record_into")
    sent: list[Frame] = []
    async with core_server(config, data_dir=tmp_path) as hw:
        for publication in range(2):  # a second publication continues the same file
            async with hw.server.publish(request("chats/room")) as pub:
                for i in range(50):
                    for frame in (video(i + 50 * publication), audio(i + 50 * publication)):
                        pub.send(frame)
                        sent.append(frame)
                    if i % 10 == 0:
                        await anyio.lowlevel.checkpoint()
    path = tmp_path / "rec" / "chats" / "room.flv"
    got = read_flv(path)
    assert path.read_bytes().startswith(b"FLV\x01")
    sent_video = [(f.dts, f.keyframe, f.nalus) for f in sent if f.track.is_video]
    got_video = [(f.dts, f.keyframe, f.nalus) for f in got if f.track.is_video]
    assert got_video == sent_video
    assert [f.data for f in got if f.track.is_audio] == [f.data for f in sent if f.track.is_audio]
    assert got[0].track.width == 320 and got[0].track.parameter_sets[-2:] == H264.parameter_sets


@pytest.mark.anyio
async def test_x_record_second_publication_continues_timestamps(tmp_path: Path) -> None:
    """Regression: a second publication into the same x-record file restarted at 0, so the
    FLV's timestamps went backwards. Appended tags now carry on after the file's latest."""
    config = template("python:publish_handlers:record_into")
    async with core_server(config, data_dir=tmp_path) as hw:
        for _publication in range(3):  # each publisher starts its clock at 0, as encoders do
            async with hw.server.publish(request("chats/room")) as pub:
                for i in range(30):
                    pub.send(video(i))
                    pub.send(audio(i))
                    await anyio.lowlevel.checkpoint()
    path = tmp_path / "rec" / "chats" / "room.flv"
    tags = [t for t in FlvReader().feed(path.read_bytes()) if isinstance(t, FlvTag)]
    stamps = [t.timestamp for t in tags if t.kind == 9]
    assert len(stamps) == 3 * 31  # 30 frames and a sequence header per publication
    per = [stamps[i * 31 : (i + 1) * 31] for i in range(3)]
    for earlier, later in itertools.pairwise(per):
        assert min(later) > max(earlier)
        # within a publication the spacing is what the publisher sent (40 ms at 25 fps)
        assert [b - a for a, b in itertools.pairwise(later[1:])] == [40] * 29
    frames = read_flv(path)
    assert [frame_index(f) for f in frames if f.track.is_video] == list(range(30)) * 3


@pytest.mark.anyio
async def test_x_record_trims_a_partial_tag_left_by_a_crash(tmp_path: Path) -> None:
    config = template("python:publish_handlers:record_into")
    path = tmp_path / "rec" / "chats" / "room.flv"
    async with core_server(config, data_dir=tmp_path) as hw:
        async with hw.server.publish(request("chats/room")) as pub:
            for i in range(10):
                pub.send(video(i))
                await anyio.lowlevel.checkpoint()
        whole = path.stat().st_size
        with path.open("ab") as f:
            f.write(b"\x09\x00\x10\x00half a tag")
        async with hw.server.publish(request("chats/room")) as pub:
            for i in range(10):
                pub.send(video(i))
                await anyio.lowlevel.checkpoint()
    assert path.stat().st_size > whole
    frames = read_flv(path)
    assert [frame_index(f) for f in frames] == list(range(10)) * 2
