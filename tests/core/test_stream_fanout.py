"""Streams (DESIGN §5): fan-out, the drop-to-next-keyframe policy, GOP cache, stats, TTL."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest
from core_helpers import AAC, H264, audio, frame_index, video

from headwater import Codec, Frame, MediaKind, Stream, Track
from headwater.config.models import Limits, StreamSettings
from headwater.registry import StreamRegistry
from headwater.stream_stats import StreamStats

SETTINGS = StreamSettings(name="live", prefixes=["live"])


def live_stream(**kw: int) -> Stream:
    stream = Stream("live/a", SETTINGS, location="live", **kw)
    stream.begin({"proto": "test", "ip": "127.0.0.1", "port": 1})
    return stream


def drain(sub: object) -> list[int]:
    frames = sub.drain()  # type: ignore[attr-defined]
    return [frame_index(f) for f in frames]


def test_fan_out_gives_every_subscription_every_frame_in_order() -> None:
    stream = live_stream()
    subs = [stream.open_subscription(f"c{i}") for i in range(3)]
    sent = [video(i) for i in range(60)]
    for frame in sent:
        stream.put(frame)
    for sub in subs:
        got = sub.drain()
        assert got == sent  # the very same frame objects, no copies
        assert sub.dropped == 0
    assert stream.stats.frames_in == 60


def test_slow_consumer_drops_to_next_keyframe_and_nobody_else_loses() -> None:
    stream = live_stream(queue_frames=4096)
    fast = [stream.open_subscription("fast1"), stream.open_subscription("fast2")]
    slow = stream.open_subscription("slow", maxsize=16)
    fast_got: list[list[int]] = [[], []]
    slow_got: list[int] = []
    # The slow consumer reads nothing during the first 40 frames (GOP 25): its queue
    # overflows at frame 16, it drops 0..24 and resumes at the keyframe 25.
    for i in range(40):
        stream.put(video(i))
        for got, sub in zip(fast_got, fast, strict=True):
            got.extend(drain(sub))
    slow_got.extend(drain(slow))
    # From now on it keeps up.
    for i in range(40, 100):
        stream.put(video(i))
        for got, sub in zip(fast_got, fast, strict=True):
            got.extend(drain(sub))
        slow_got.extend(drain(slow))

    assert fast_got == [list(range(100)), list(range(100))]
    assert all(sub.dropped == 0 for sub in fast)
    assert slow_got == list(range(25, 100))
    assert slow.dropped == 25 and slow.drop_events == 1
    assert stream.stats.frames_in == 100  # the publisher lost nothing
    assert stream.describe()["stats"]["drops"] == 25


def test_drop_waits_for_a_video_keyframe_even_when_audio_arrives() -> None:
    stream = live_stream()
    sub = stream.open_subscription("slow", maxsize=16)
    stream.put(video(0))
    for i in range(1, 16):
        stream.put(audio(i))
    assert sub.pending == 16
    stream.put(video(1))  # overflow on a non-key frame
    stream.put(audio(17))  # still waiting for a video keyframe: dropped
    stream.put(video(25))  # the keyframe
    stream.put(audio(18))
    got = sub.drain()
    assert [(f.track.kind, frame_index(f)) for f in got] == [
        (MediaKind.VIDEO, 25),
        (MediaKind.AUDIO, 18),
    ]
    assert sub.dropped == 18


def test_audio_only_consumer_drops_the_backlog_and_resumes_at_once() -> None:
    stream = live_stream()
    sub = stream.open_subscription("slow", maxsize=16)
    for i in range(20):
        stream.put(audio(i))
    assert drain(sub) == [16, 17, 18, 19]
    assert sub.dropped == 16


def test_a_new_consumer_starts_at_the_last_keyframe() -> None:
    stream = live_stream()
    for i in range(31):
        stream.put(video(i))
        stream.put(audio(i))
    sub = stream.open_subscription("late")
    got = sub.drain()
    assert got[0].keyframe and got[0].track is H264 and frame_index(got[0]) == 25
    assert [frame_index(f) for f in got if f.track is H264] == list(range(25, 31))
    assert [frame_index(f) for f in got if f.track is AAC] == list(range(25, 31))
    # and it goes on with live frames
    stream.put(video(31))
    assert drain(sub) == [31]


def test_no_keyframe_yet_means_the_new_consumer_waits_for_one() -> None:
    stream = live_stream()
    for i in range(1, 10):  # joined mid-GOP: no keyframe seen
        stream.put(video(i))
    sub = stream.open_subscription("early")
    assert sub.pending == 0
    stream.put(video(24))
    stream.put(video(25))
    assert drain(sub) == [24, 25]


def test_gop_cache_over_its_byte_limit_is_emptied() -> None:
    stream = live_stream(gop_cache_bytes=1000)
    for i in range(15):  # 100 bytes each: past the limit after 10 frames
        stream.put(video(i, size=100))
    assert stream.open_subscription("late").pending == 0
    stream.put(video(25))
    assert stream.open_subscription("later").pending == 1


def test_audio_only_streams_cache_a_short_tail() -> None:
    stream = live_stream()
    for i in range(10):
        stream.put(audio(i))
    assert drain(stream.open_subscription("a")) == list(range(10))
    for i in range(10, 150):
        stream.put(audio(i))
    tail = drain(stream.open_subscription("b"))
    assert 50 <= len(tail) <= 101 and tail == list(range(150 - len(tail), 150))


def test_a_new_track_object_replaces_the_old_one() -> None:
    stream = live_stream()
    stream.put(video(0))
    bigger = Track(1, Codec.H264, MediaKind.VIDEO, width=1280, height=720)
    stream.put(video(1, track=bigger))
    assert stream.tracks == [bigger]
    assert stream.describe()["stats"]["media_info"]["tracks"][0]["width"] == 1280


def test_stats_describe_what_was_published() -> None:
    stream = live_stream()
    sub = stream.open_subscription("player 1.2.3.4")
    for i in range(10):
        stream.put(video(i, size=200))
        stream.put(audio(i, size=50))
    stream.stats.wire_bytes_in += 4000
    stream.metadata = {"encoder": "test", "blob": b"\x01\x02"}
    info = stream.describe()
    stats = info["stats"]
    assert info["name"] == "live/a" and info["named_by"] == "user" and not info["static"]
    assert stats["alive"] and stats["status"] == "running"
    assert stats["bytes_in"] == 10 * 200 + 10 * 50
    assert stats["frames_in"] == 20
    assert stats["online_clients"] == 1
    assert stats["publisher"] == {"proto": "test", "ip": "127.0.0.1", "port": 1}
    assert stats["media_info"]["tracks"] == [
        {"track_id": 1, "content": "video", "codec": "h264", "width": 320, "height": 240},
        {"track_id": 2, "content": "audio", "codec": "aac", "sample_rate": 48000, "channels": 2},
    ]
    assert stats["media_info"]["metadata"] == {"encoder": "test", "blob": "0102"}
    assert stats["consumers"] == [{"name": "player 1.2.3.4", "pending": 20, "dropped": 0}]
    assert stats["opened_at"] > 0
    assert stream.stats.keyframes_in == 1 + 10  # one video keyframe, every audio frame
    del sub


def test_bitrate_over_the_last_seconds() -> None:
    stats = StreamStats()
    for second in range(6):
        stats.add(1000, False, float(second))
    # 5000 bytes between the first mark (t=0, 1000 bytes) and t=5: 8 kbit/s
    assert stats.bitrate(5.0) == 8
    assert stats.bitrate(0.2) == 0  # too short a span to tell
    assert StreamStats().bitrate(1.0) == 0
    # marks older than the window are skipped
    assert stats.bitrate(60.0) == 0


@pytest.mark.anyio
async def test_subscription_iterates_until_the_publication_ends() -> None:
    stream = live_stream()
    got: list[int] = []

    async def consume() -> None:
        async with stream.subscribe("reader") as sub:
            async for frame in sub:
                got.append(frame_index(frame))
                await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await anyio.sleep(0.01)
        for i in range(50):
            stream.put(video(i))
            if i % 10 == 0:
                await anyio.lowlevel.checkpoint()
        stream.finish()
    assert got == list(range(50))
    assert stream.subscriptions == []


@pytest.mark.anyio
async def test_subscribing_to_an_idle_stream_ends_at_once() -> None:
    stream = Stream("idle", SETTINGS)
    with anyio.fail_after(1):
        async with stream.subscribe("x") as sub:
            assert [f async for f in sub] == []


def test_registry_expires_dynamic_streams_only_after_the_ttl() -> None:
    registry = StreamRegistry(Limits(dynamic_stream_ttl=10))
    registry.sync_static([StreamSettings(name="static1")])
    dyn = registry.ensure("live/a", SETTINGS, static=False, location="live")
    dyn.begin({})
    assert registry.expire(now=1e9) == []  # live: stays
    dyn.finish()
    ended = dyn.ended_at
    assert ended is not None
    assert registry.expire(now=ended + 9.9) == []
    watcher = dyn.open_subscription("late")  # not live: no subscription kept
    del watcher
    assert registry.expire(now=ended + 10) == ["live/a"]
    assert [s.name for s in registry] == ["static1"]
    assert registry.expire(now=ended + 1e6) == []


def test_registry_sync_static_keeps_live_streams() -> None:
    registry = StreamRegistry(Limits())
    registry.sync_static([StreamSettings(name="a"), StreamSettings(name="b")])
    registry.get("b").begin({})  # type: ignore[union-attr]
    registry.sync_static([StreamSettings(name="c")])
    assert sorted(s.name for s in registry) == ["b", "c"]
    registry.sync_static([StreamSettings(name="x")], named_by="external")
    registry.sync_static([], named_by="external")
    assert "x" not in registry and "c" in registry


def test_frame_size_counts_payload_only() -> None:
    assert Frame(H264, 0, 0, True, nalus=(b"abc", b"de")).size == 5
    assert Frame(AAC, 0, 0, True, data=b"abcd").size == 4


def test_resync_drops_the_backlog_and_waits_for_a_keyframe() -> None:
    stream = live_stream()
    sub = stream.open_subscription("pusher")
    for i in range(5):
        stream.put(video(i))
    assert frame_index(sub.get_nowait()) == 0  # type: ignore[arg-type]
    sub.resync()  # e.g. a push reconnected: its backlog is stale
    assert sub.pending == 0 and sub.dropped == 4 and sub.get_nowait() is None
    stream.put(video(24))
    stream.put(audio(1))
    stream.put(video(25))
    assert drain(sub) == [25]
    assert sub.dropped == 6


@pytest.mark.anyio
async def test_bytes_out_counts_what_was_taken_however_it_was_taken() -> None:
    """Counted at queueing, less what is queued or thrown away (issue 14): taking a frame
    computes no size, and the figure is the one that counting each take gave."""
    stream = live_stream()
    sub = stream.open_subscription("c", maxsize=8)
    frames = [video(i) for i in range(30)]
    taken = 0
    for frame in frames[:5]:
        stream.put(frame)
    assert sub.bytes_out == 0 and stream.bytes_out == 0
    one = sub.get_nowait()
    two = await sub.__anext__()
    taken += one.size + two.size
    assert sub.bytes_out == taken
    taken += sum(f.size for f in sub.drain())
    assert sub.bytes_out == taken
    for frame in frames[5:25]:  # past maxsize: the backlog is thrown away, not counted
        stream.put(frame)
    assert sub.dropped > 0
    taken += sum(f.size for f in sub.drain())
    assert sub.bytes_out == taken
    stream.put(frames[25])
    sub.resync()
    assert sub.bytes_out == taken
    stream.close_subscription(sub)
    assert stream.bytes_out == taken


def test_on_ready_tells_when_the_queue_gets_work_and_when_it_ends() -> None:
    """``Subscription.on_ready`` is called when a frame lands in an empty queue (not for
    the frames behind it) and when the publication ends; a drained queue arms it again."""
    stream = live_stream()
    sub = stream.open_subscription("player")
    calls: list[int] = []
    sub.on_ready = lambda: calls.append(sub.pending)
    for i in range(3):
        stream.put(video(i))
    assert calls == [1]
    assert drain(sub) == [0, 1, 2]
    stream.put(video(3))
    stream.put(video(4))
    assert calls == [1, 1]
    stream.finish()
    assert calls == [1, 1, 2] and sub.ended
    assert drain(sub) == [3, 4]
