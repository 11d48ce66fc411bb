"""The publish path (DESIGN §5): ``server.publish`` resolves, authorizes, registers and stops."""

from __future__ import annotations

import itertools
import time
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from core_helpers import PUBLISH, core_server, eventually, frame_index, request, video

from headwater import PublishRejected, Refusal, Subscription, hookimpl
from headwater.testing import wait_for_stream

CONFIG: dict[str, Any] = {
    "streams": [
        {"name": "published", "inputs": PUBLISH, "password": "secure"},
        {"name": "vod"},  # no publish:// input
        {"name": "open", "inputs": PUBLISH},
        {"name": "shared", "inputs": PUBLISH, "takeover": True},
    ],
    "templates": [
        {"name": "chats", "prefixes": ["chats"], "inputs": PUBLISH, "password": "mypass"},
        {"name": "live", "prefixes": ["live"], "inputs": PUBLISH},
        {"name": "off", "prefixes": ["off"], "inputs": PUBLISH, "disabled": True},
    ],
}

REFUSED = [
    # path, args, refusal, words of the reason
    ("live//a", {}, Refusal.BAD_NAME, "empty path segment"),
    ("live/../etc", {}, Refusal.BAD_NAME, "'..'"),
    ("live/a b", {}, Refusal.BAD_NAME, "characters"),
    ("", {}, Refusal.BAD_NAME, "no stream name"),
    ("/", {}, Refusal.BAD_NAME, "no stream name"),
    ("unknown/a", {}, Refusal.NOT_FOUND, "no stream or template accepts"),
    ("off/a", {}, Refusal.NOT_FOUND, "no stream or template accepts"),
    ("live", {}, Refusal.NOT_FOUND, "no stream or template accepts"),
    ("vod", {}, Refusal.NOT_FOUND, "does not accept publishing"),
    ("published", {}, Refusal.UNAUTHORIZED, "password is required"),
    ("published", {"password": "wrong"}, Refusal.UNAUTHORIZED, "wrong password"),
    ("published", {"password": "mypass"}, Refusal.UNAUTHORIZED, "wrong password"),
    ("chats/my/chat-15", {}, Refusal.UNAUTHORIZED, "password is required"),
    ("chats/my/chat-15", {"password": "secure"}, Refusal.UNAUTHORIZED, "wrong password"),
]


@pytest.mark.anyio
async def test_refusals() -> None:
    async with core_server(CONFIG) as hw:
        for path, args, refusal, words in REFUSED:
            with pytest.raises(PublishRejected) as info:
                async with hw.server.publish(request(path, **args)):
                    pytest.fail(f"{path!r} {args} was accepted")
            assert info.value.refusal is refusal, path
            assert words in info.value.reason, (path, info.value.reason)
        assert hw.server.publications == {}
        assert all(not s.live for s in hw.server.streams)
        # nothing was created for the refused dynamic names
        assert sorted(s.name for s in hw.server.streams) == ["open", "published", "shared", "vod"]


ACCEPTED = [
    ("published", {"password": "secure"}, "published", "published"),
    ("/published/", {"password": "secure"}, "published", "published"),
    ("chats/my/chat-15", {"password": "mypass"}, "chats/my/chat-15", "chats"),
    ("live/cam1", {}, "live/cam1", "live"),
    ("open", {"password": "anything"}, "open", "open"),  # no password configured
]


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "args", "name", "location"), ACCEPTED)
async def test_accepted(path: str, args: dict[str, str], name: str, location: str) -> None:
    async with core_server(CONFIG) as hw:
        req = request(path, **args)
        async with hw.server.publish(req) as pub:
            assert pub.name == name and req.name == name and req.location == location
            assert hw.server.publications[name] is pub
            stream = hw.server.streams.get(name)
            assert stream is not None and stream.live
            assert stream.describe()["location"] == location
        assert not stream.live and name not in hw.server.publications


@pytest.mark.anyio
async def test_frames_reach_a_player_through_the_registry() -> None:
    async with core_server() as hw:
        got: list[int] = []
        subscribed = anyio.Event()

        async def play() -> None:
            stream = hw.server.streams.get("live/cam1")
            assert stream is not None and stream.live
            async with stream.subscribe("player") as sub:
                subscribed.set()
                got.extend([frame_index(f) async for f in sub])

        with anyio.fail_after(5):
            async with (
                anyio.create_task_group() as tg,
                hw.server.publish(request("live/cam1")) as pub,
            ):
                for i in range(30):  # the player joins after 30 frames (GOP 25)
                    pub.send(video(i))
                tg.start_soon(play)
                await subscribed.wait()
                for i in range(30, 60):
                    pub.send(video(i))
                    await anyio.lowlevel.checkpoint()
                pub.add_bytes(12345)
                pub.set_metadata({"width": 320})
                stream = hw.server.streams.get("live/cam1")
                assert stream is not None
                info = stream.describe()["stats"]
                assert info["frames_in"] == 60 and info["publisher"]["proto"] == "test"
                assert info["online_clients"] == 1
                assert info["media_info"]["metadata"] == {"width": 320}
                assert stream.stats.wire_bytes_in == 12345
        # the player started at the cached keyframe and lost nothing after it;
        # the end of the publication ended its iteration
        assert got == list(range(25, 60))


@pytest.mark.anyio
async def test_second_publisher_is_busy() -> None:
    async with core_server(CONFIG) as hw:
        async with hw.server.publish(request("live/a")) as first:
            with pytest.raises(PublishRejected) as info:
                async with hw.server.publish(request("live/a")):
                    pytest.fail("second publisher accepted")
            assert info.value.refusal is Refusal.BUSY and info.value.http_status == 409
            assert "already being published from 127.0.0.1" in info.value.reason
            assert hw.server.publications["live/a"] is first
            first.send(video(0))
        # once the first left, the name is free again
        async with hw.server.publish(request("live/a")):
            pass


@pytest.mark.anyio
async def test_takeover_replaces_the_live_publisher() -> None:
    async with core_server(CONFIG) as hw:
        first_ended = anyio.Event()
        first_done_at: list[float] = []

        async def first() -> None:
            async with hw.server.publish(request("shared")) as pub:
                pub.send(video(0))
                await anyio.sleep(30)  # cancelled by the takeover
            first_done_at.append(time.monotonic())
            first_ended.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await wait_for_stream(hw.server, "shared")
            old = hw.server.publications["shared"]
            async with hw.server.publish(request("shared")) as second:
                with anyio.fail_after(2):
                    await first_ended.wait()
                assert old.stop_reason and "taken over" in old.stop_reason
                assert hw.server.publications["shared"] is second
                second.send(video(0))
                second.send(video(1))
                stream = hw.server.streams.get("shared")
                assert stream is not None and stream.live
                assert stream.stats.frames_in == 2  # stats restarted with the new publisher
            assert "shared" not in hw.server.publications


@pytest.mark.anyio
async def test_max_streams_limit() -> None:
    async with core_server({"limits": {"max_streams": 2}}) as hw:
        async with hw.server.publish(request("live/a")), hw.server.publish(request("live/b")):
            with pytest.raises(PublishRejected) as info:
                async with hw.server.publish(request("live/c")):
                    pytest.fail("third stream accepted")
            assert info.value.refusal is Refusal.LIMIT and "2 streams" in info.value.reason
        async with hw.server.publish(request("live/c")):
            pass


@pytest.mark.anyio
async def test_idle_publisher_is_disconnected() -> None:
    async with core_server({"limits": {"publish_idle_timeout": 0.3}}) as hw:
        started = time.monotonic()
        async with hw.server.publish(request("live/quiet")) as pub:
            pub.send(video(0))
            await anyio.sleep(10)  # cancelled by the watchdog
        elapsed = time.monotonic() - started
        assert elapsed < 3, elapsed
        assert pub.stop_reason == "no data for 0.3s"
        assert "live/quiet" not in hw.server.publications


@pytest.mark.anyio
async def test_a_publisher_sending_data_is_not_idle() -> None:
    async with core_server({"limits": {"publish_idle_timeout": 0.5}}) as hw:
        async with hw.server.publish(request("live/busy")) as pub:
            for i in range(12):  # 1.2 s of frames, 0.1 s apart: past a watchdog tick
                pub.send(video(i))
                await anyio.sleep(0.1)
        assert pub.stop_reason is None


@pytest.mark.anyio
async def test_dynamic_stream_is_removed_after_the_ttl_static_stays() -> None:
    async with core_server({**CONFIG, "limits": {"dynamic_stream_ttl": 0.2}}) as hw:
        async with hw.server.publish(request("live/gone")) as pub:
            pub.send(video(0))
        async with hw.server.publish(request("open")) as pub:
            pub.send(video(0))
        assert "live/gone" in hw.server.streams  # listed right after the publisher left
        await eventually(lambda: "live/gone" not in hw.server.streams, timeout=3)
        assert "open" in hw.server.streams


@pytest.mark.anyio
async def test_stop_disconnects_publishers() -> None:
    async with core_server() as hw:
        async with hw.server.publish(request("live/a")) as pub:
            hw.server.publications["live/a"].stop("test says so")
            await anyio.sleep(5)
        assert pub.stop_reason == "test says so"


@pytest.mark.anyio
async def test_refusal_is_logged_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    async with core_server(CONFIG) as hw:
        with pytest.raises(PublishRejected):
            async with hw.server.publish(request("published", password="nope")):
                pass
    lines = [r.getMessage() for r in caplog.records if r.name == "headwater.server"]
    assert "refused test publish from 127.0.0.1 ('published'): wrong password" in lines


class Consumers:
    """A test plugin whose recorders: one reads everything, one fails at once, one is slow."""

    __name__ = "consumers-plugin"

    def __init__(self) -> None:
        self.frames: list[int] = []
        self.slow_frames: list[int] = []
        self.stopped: list[str] = []

    @hookimpl
    def record(self, server: Any, stream: Any, settings: Any, path: str | None) -> Any:
        return Reader("reader", self.frames)

    @hookimpl
    def stream_started(self, server: Any, stream: Any, settings: Any) -> list[Any]:
        return [Broken(), Reader("slow", self.slow_frames, delay=0.02)]

    @hookimpl
    async def stream_stopped(self, server: Any, stream: Any) -> None:
        self.stopped.append(stream.name)


class Reader:
    def __init__(self, name: str, frames: list[int], delay: float = 0.0) -> None:
        self.name = name
        self.frames = frames
        self.delay = delay

    async def run(self, subscription: Subscription) -> None:
        async for frame in subscription:
            self.frames.append(frame_index(frame))
            if self.delay:
                await anyio.sleep(self.delay)


class Broken:
    name = "broken"

    async def run(self, subscription: Subscription) -> None:
        raise RuntimeError("recorder bug")


@pytest.mark.anyio
async def test_consumers_fail_or_lag_alone(caplog: pytest.LogCaptureFixture) -> None:
    plugin = Consumers()
    async with core_server({"limits": {"queue_frames": 16}}, extra_plugins=[plugin]) as hw:
        async with hw.server.publish(request("live/a")) as pub:
            for i in range(100):  # GOP 25, a frame every 2 ms: 10 times what "slow" reads
                pub.send(video(i))
                await anyio.sleep(0.002)
            stream = hw.server.streams.get("live/a")
            assert stream is not None
        assert plugin.frames == list(range(100))  # the healthy one lost nothing
        assert plugin.slow_frames[0] == 0 and len(plugin.slow_frames) < 100
        slow_drops = 100 - len(plugin.slow_frames)
        assert stream.describe()["stats"]["drops"] == slow_drops
        # after each drop the slow one resumed at a keyframe (the synthetic GOP is 25)
        slow = plugin.slow_frames
        resumed = [b for a, b in itertools.pairwise(slow) if b != a + 1]
        assert resumed and all(index % 25 == 0 for index in resumed), slow
        assert plugin.stopped == ["live/a"]
    messages = [r.getMessage() for r in caplog.records]
    assert "live/a: consumer broken failed: RuntimeError: recorder bug" in messages
    assert any("consumer slow fell behind" in m for m in messages)


@pytest.mark.anyio
async def test_shutdown_stops_live_publishers_and_their_consumers() -> None:
    plugin = Consumers()
    ended: list[str | None] = []
    async with core_server(extra_plugins=[plugin]) as hw:
        published = anyio.Event()

        async def publisher() -> None:
            async with hw.server.publish(request("live/a")) as pub:
                for i in range(10):
                    pub.send(video(i))
                published.set()
                await anyio.sleep(30)
            ended.append(pub.stop_reason)

        async with anyio.create_task_group() as tg:
            tg.start_soon(publisher)
            await published.wait()
            with anyio.fail_after(5):
                hw.server.stop()
                await eventually(lambda: bool(ended))
    assert ended == ["the server is shutting down"]
    assert plugin.frames == list(range(10)) and plugin.stopped == ["live/a"]


@pytest.mark.anyio
async def test_stream_stopped_only_when_the_stream_really_stops() -> None:
    """A takeover ends the old publication without ``stream_stopped``: the stream goes on."""
    stopped: list[tuple[str, bool, int]] = []

    class Watch:
        @hookimpl
        def stream_stopped(self, stream):  # type: ignore[no-untyped-def]
            stopped.append((stream.name, stream.live, stream.stats.frames_in))

    async with core_server(CONFIG, extra_plugins=[Watch()]) as hw:
        first_ended = anyio.Event()

        async def first() -> None:
            async with hw.server.publish(request("shared")) as pub:
                pub.send(video(0))
                await anyio.sleep(30)  # cancelled by the takeover
            first_ended.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await wait_for_stream(hw.server, "shared")
            async with hw.server.publish(request("shared")) as second:
                with anyio.fail_after(2):
                    await first_ended.wait()
                second.send(video(0))
                second.send(video(1))
                second.send(video(2))
                assert stopped == []
        assert stopped == [("shared", False, 3)]


@pytest.mark.anyio
async def test_a_stream_stopped_hook_that_hangs_is_not_waited_for(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from headwater import publish_path

    class Hangs:
        __name__ = "hangs"

        @hookimpl
        async def stream_stopped(self, stream: Any) -> None:
            await anyio.sleep_forever()

    monkeypatch.setattr(publish_path, "STOPPED_HOOK_TIMEOUT", 0.2)
    async with core_server(extra_plugins=[Hangs()]) as hw:
        with anyio.fail_after(3):
            async with hw.server.publish(request("live/cam1")) as pub:
                pub.send(video(0))
    assert "live/cam1: stream_stopped took longer than 0.2s; not waited for" in [
        r.getMessage() for r in caplog.records
    ]
