"""``Stream.put_many`` (a publisher's read handed over at once) against ``Stream.put`` for
each frame, the oracle: the same queues, drops, bytes, GOP cache, counters and
``on_ready`` calls, for any frames cut into any batches."""

from __future__ import annotations

from dataclasses import dataclass

from core_helpers import AAC, H264, audio, video
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater import Frame, Stream, Track
from headwater.media.frames import Codec, MediaKind

H264_B = Track(1, Codec.H264, MediaKind.VIDEO)
"""A new configuration of the video track mid-stream (same id, new object)."""


@dataclass
class Plan:
    """A stream's frames cut into batches, and what the consumers do."""

    frames: list[Frame]
    cuts: list[int]
    maxsizes: list[int]
    drain_every: list[int]
    gop_bytes: int
    end_at: int


def _frame(spec: tuple[str, int, int], i: int) -> Frame:
    kind, size, gop = spec
    if kind == "v":
        return video(i, gop=gop, size=size)
    if kind == "w":
        return video(i, gop=gop, size=size, track=H264_B)
    if kind == "d":  # a NAL frame of no units: its size is its data's
        return Frame(H264, i, i, False, data=b"x" * size)
    return audio(i, size=size, track=AAC)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    specs = draw(
        st.lists(
            st.tuples(
                st.sampled_from("vvvaaaawd"), st.integers(5, 400), st.sampled_from([1, 3, 25])
            ),
            max_size=120,
        )
    )
    if draw(st.booleans()):  # audio only: the short tail cache
        specs = [("a", s, g) for _, s, g in specs]
    frames = [_frame(spec, i) for i, spec in enumerate(specs)]
    cuts = draw(st.lists(st.integers(1, 12), min_size=1, max_size=40))
    return Plan(
        frames=frames,
        cuts=cuts,
        maxsizes=draw(st.lists(st.integers(1, 30), min_size=0, max_size=3)),
        drain_every=draw(st.lists(st.integers(1, 5), min_size=3, max_size=3)),
        gop_bytes=draw(st.sampled_from([300, 2000, 16 << 20])),
        end_at=draw(st.integers(0, 200)),
    )


def _run(plan: Plan, many: bool) -> tuple[object, ...]:
    stream = Stream("live/a", queue_frames=4096, gop_cache_bytes=plan.gop_bytes)
    stream.begin({})
    subs = [stream.open_subscription(f"c{i}", maxsize=m) for i, m in enumerate(plan.maxsizes)]
    ready = [0] * len(subs)
    for i, sub in enumerate(subs):

        def note(i: int = i) -> None:
            ready[i] += 1

        sub.on_ready = note
    got: list[list[Frame]] = [[] for _ in subs]
    pos = batch_no = 0
    cuts = plan.cuts
    while pos < len(plan.frames):
        batch = plan.frames[pos : pos + cuts[batch_no % len(cuts)]]
        pos += len(batch)
        if many:
            stream.put_many(batch)
        else:
            for frame in batch:
                stream.put(frame)
        batch_no += 1
        for i, sub in enumerate(subs):
            if batch_no % plan.drain_every[i % 3] == 0:
                got[i] += sub.drain()
        if batch_no == plan.end_at and subs:
            subs[-1].end()
    late = stream.open_subscription("late")  # starts from the GOP cache
    stats = stream.stats
    return (
        [[id(f) for f in g] for g in got],
        [[id(f) for f in s.drain()] for s in subs],
        [(s.dropped, s.drop_events, s.bytes_out, s.pending) for s in subs],
        ready,
        [id(f) for f in late.drain()],
        stream._gop_bytes,
        stream.has_video,
        sorted((k, id(t)) for k, t in stream.tracks_by_id.items()),
        (stats.bytes_in, stats.frames_in, stats.keyframes_in, stats.last_dts),
        stream.bytes_out,
    )


@settings(max_examples=300, deadline=None)
@given(plans())
def test_put_many_is_put_for_each_frame(plan: Plan) -> None:
    assert _run(plan, many=True) == _run(plan, many=False)


def test_put_many_of_nothing_changes_nothing() -> None:
    stream = Stream("live/a")
    stream.begin({})
    sub = stream.open_subscription("c")
    stream.put_many([])
    assert stream.stats.frames_in == 0
    assert sub.pending == 0


def test_put_many_hands_a_read_over_with_one_ready_call() -> None:
    stream = Stream("live/a")
    stream.begin({})
    stream.put(video(0))  # the stream has video: a read goes over in one pass
    sub = stream.open_subscription("c")
    assert sub.drain() == [stream._gop[0]]
    calls: list[int] = []
    sub.on_ready = lambda: calls.append(sub.pending)
    frames = [audio(0), video(1), audio(1), video(25)]
    stream.put_many(frames)
    assert calls == [4]  # called once, after the whole read is queued
    assert sub.drain() == frames
    assert stream.stats.frames_in == 5
    assert stream.stats.keyframes_in == 4  # the two keyframes and both audio frames
    assert stream.stats.bytes_in == video(0).size + sum(f.size for f in frames)
    assert stream.stats.last_dts == frames[-1].dts
    assert stream._gop == frames[-1:]  # the GOP cache restarts at the keyframe
