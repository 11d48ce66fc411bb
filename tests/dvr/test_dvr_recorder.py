"""The recorder on a scripted subscription and clock: files, rows and the time axis."""

from __future__ import annotations

import itertools
from collections import deque

import anyio
import anyio.lowlevel
import pytest

from headwater.config.models import DVRSettings
from headwater.media.frames import CLOCK_RATE, Frame
from headwater.media.mpegts import TracksChanged, TSReader
from headwater.media.segmenter import Segmenter
from headwater_dvr.archive import Archive
from headwater_dvr.recorder import DvrRecorder

pytestmark = pytest.mark.anyio

T0 = 1_795_000_000.0


class ScriptedSubscription:
    """Frames handed out one at a time; before each, ``on_frame`` may move the clock.

    ``async for`` hands out one frame and ``drain()`` up to ``batch - 1`` more after it (a
    recorder with ``gather=0``); a recorder that ticks takes ``batch`` frames with each
    ``drain()`` (as a real subscription does with the frames that gathered meanwhile).
    ``pending`` is the given figure until every frame was taken.
    """

    def __init__(self, frames: list[Frame], on_frame, pending: int = 0, batch: int = 1) -> None:
        self.frames = deque(frames)
        self.on_frame = on_frame
        self.fake_pending = pending
        self.batch = batch
        self.tracks: list = []

        self.iterated = False

    @property
    def pending(self) -> int:
        return self.fake_pending if self.frames else 0

    @property
    def ended(self) -> bool:
        return not self.frames

    def drain(self) -> list[Frame]:
        out = []
        take = self.batch - 1 if self.iterated else self.batch
        while self.frames and len(out) < take:
            frame = self.frames.popleft()
            self.on_frame(frame)
            out.append(frame)
        return out

    def __aiter__(self):
        return self

    async def __anext__(self) -> Frame:
        if not self.frames:
            raise StopAsyncIteration
        self.iterated = True
        frame = self.frames.popleft()
        self.on_frame(frame)
        await anyio.lowlevel.checkpoint()
        return frame


@pytest.fixture
def frames(test_media) -> list[Frame]:
    """6 s of H.264 + AAC with a keyframe a second, as the core hands them to consumers."""
    data = test_media("h264", "aac", "ts", seconds=6, gop=25, size="160x120").read_bytes()
    reader = TSReader()
    return [e for e in reader.feed(data) + reader.flush() if not isinstance(e, TracksChanged)]


async def record(
    tmp_path, frames, clock_of, pending: int = 0, gather: float = 0, batch: int = 1, **options
):
    archive = Archive(tmp_path)
    await archive.open()
    now = [T0]
    base = frames[0].dts

    def on_frame(frame: Frame) -> None:
        now[0] = clock_of((frame.dts - base) / CLOCK_RATE)

    settings = DVRSettings(root=str(tmp_path), segment_duration=2)
    recorder = DvrRecorder("cam", archive, settings, clock=lambda: now[0], gather=gather, **options)
    subscription = ScriptedSubscription(frames, on_frame, pending, batch)
    await recorder.run(subscription)  # type: ignore[arg-type]
    rows = await archive.run(archive.db.segments, "cam", 0, 2**62)
    ranges = await archive.run(archive.db.ranges, "cam")
    await archive.close()
    return recorder, rows, ranges


async def test_segments_are_contiguous_on_the_wall_clock_and_match_their_files(tmp_path, frames):
    recorder, rows, ranges = await record(tmp_path, frames, lambda t: T0 + t)
    assert len(rows) == 3 and all(r.complete for r in rows)
    assert rows[0].start_ms == int(T0 * 1000)
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(rows))
    assert [r.duration_ms // 100 for r in rows[:2]] == [20, 20]
    assert ranges == [(rows[0].start_ms, rows[-1].end_ms)]
    assert rows[0].discontinuity and not rows[1].discontinuity
    for row in rows:
        assert (tmp_path / row.path).stat().st_size == row.bytes
        assert row.keyframes == 2 or row is rows[-1]
    assert recorder.bytes_written == sum(r.bytes for r in rows)
    assert not list(tmp_path.rglob("*.part"))


async def test_a_stalled_publisher_starts_a_new_range(tmp_path, frames):
    """The wall clock runs 10 s ahead at 3 s of media (the publisher stalled): re-anchored."""
    _, rows, ranges = await record(tmp_path, frames, lambda t: T0 + t + (10 if t >= 3 else 0))
    assert len(ranges) == 2
    assert ranges[1][0] >= int((T0 + 14) * 1000)
    assert rows[2].discontinuity


async def test_a_lagging_recorder_keeps_the_publishers_time(tmp_path, frames):
    """The same clock with frames still queued is lag, not a gap: one range."""
    _, rows, ranges = await record(
        tmp_path, frames, lambda t: T0 + t + (10 if t >= 3 else 0), pending=500
    )
    assert len(ranges) == 1
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(rows))


def media_of(data: bytes) -> tuple[list, list]:
    """(video frames, audio frames) of a TS file as a reader gets them back."""
    reader = TSReader()
    events = [e for e in reader.feed(data) + reader.flush() if not isinstance(e, TracksChanged)]
    video = [(e.pts, e.dts, e.keyframe, e.nalus) for e in events if e.nalus]
    audio = [(e.pts, bytes(e.data)) for e in events if not e.nalus]
    return video, audio


@pytest.mark.parametrize("batch", [2, 7, 40])
async def test_batches_record_the_same_files_as_single_frames(tmp_path, frames, batch):
    """Frames taken in batches (with the pause between them) give the same segments and
    bytes (a PES per audio frame); with the recorder's own segmenter, which lets a batch's
    AAC frames share a PES, the same segments and the same media, in fewer bytes."""
    _, single, _ = await record(tmp_path / "one", frames, lambda t: T0 + t, segmenter=Segmenter)
    _, batched, _ = await record(
        tmp_path / "many", frames, lambda t: T0 + t, gather=0.001, batch=batch, segmenter=Segmenter
    )
    _, grouped, _ = await record(
        tmp_path / "grouped", frames, lambda t: T0 + t, gather=0.001, batch=batch
    )
    assert [(r.duration_ms, r.bytes, r.keyframes) for r in batched] == [
        (r.duration_ms, r.bytes, r.keyframes) for r in single
    ]
    assert [(r.duration_ms, r.keyframes) for r in grouped] == [
        (r.duration_ms, r.keyframes) for r in single
    ]
    # the archive starts when the batch holding the first frame is taken, then runs on
    # contiguously: every segment moves by the same few hundredths of a second
    shifts = {b.start_ms - a.start_ms for a, b in zip(single, batched, strict=True)}
    assert len(shifts) == 1 and 0 <= shifts.pop() < batch * 45
    for a, b, c in zip(single, batched, grouped, strict=True):
        one = (tmp_path / "one" / a.path).read_bytes()
        assert one == (tmp_path / "many" / b.path).read_bytes()
        data = (tmp_path / "grouped" / c.path).read_bytes()
        assert c.bytes == len(data) and (len(data) < len(one) if batch > 2 else True)
        assert media_of(data) == media_of(one)  # ffmpeg's clip: exact audio times


async def test_recorders_sharing_a_root_write_what_each_writes_alone(tmp_path, frames):
    """Three streams recorded at once through the root's one writer: the same files each
    gives alone (in the same batches), every one indexed as on disk, and the summaries
    equal to the index."""
    _, alone, _ = await record(tmp_path / "alone", frames, lambda t: T0 + t, gather=0.001, batch=5)
    archive = Archive(tmp_path / "shared")
    await archive.open()
    settings = DVRSettings(root=str(tmp_path / "shared"), segment_duration=2)
    recorders = [
        DvrRecorder(f"cam{i}", archive, settings, clock=lambda: T0, gather=0.001) for i in range(3)
    ]
    async with anyio.create_task_group() as tg:
        for recorder in recorders:
            subscription = ScriptedSubscription(list(frames), lambda frame: None, batch=5)
            tg.start_soon(recorder.run, subscription)
    for recorder in recorders:
        rows = await archive.run(archive.db.segments, recorder.stream_name, 0, 2**62)
        assert [(r.duration_ms, r.bytes) for r in rows] == [(r.duration_ms, r.bytes) for r in alone]
        for a, b in zip(alone, rows, strict=True):
            assert (tmp_path / "alone" / a.path).read_bytes() == (
                tmp_path / "shared" / b.path
            ).read_bytes()
        summary = archive.summaries[recorder.stream_name]
        assert summary.ranges == await archive.run(archive.db.ranges, recorder.stream_name)
        assert (summary.bytes, summary.segments) == await archive.run(
            archive.db.totals, recorder.stream_name
        )
        assert recorder.bytes_written == summary.bytes
    assert not archive.writing and not list((tmp_path / "shared").rglob("*.part"))
    await archive.close()


async def test_the_root_keeps_ticking_when_the_leading_recorder_stops(tmp_path, frames):
    """The first recorder's task runs the root's ticks; when its stream ends early, or its
    task is cancelled, another recorder's task takes over and every other stream is
    recorded to its end."""
    short = frames[: len(frames) // 3]
    _, alone, _ = await record(tmp_path / "alone", frames, lambda t: T0 + t, gather=0.001, batch=3)
    archive = Archive(tmp_path / "shared")
    await archive.open()
    settings = DVRSettings(root=str(tmp_path / "shared"), segment_duration=2)
    recorders = [
        DvrRecorder(f"cam{i}", archive, settings, clock=lambda: T0, gather=0.001) for i in range(4)
    ]
    scripts = [short, frames, short, frames]
    async with anyio.create_task_group() as tg:
        cancelled = anyio.CancelScope()

        async def run_cancelled(recorder, subscription):
            with cancelled:
                await recorder.run(subscription)

        for i, (recorder, script) in enumerate(zip(recorders, scripts, strict=True)):
            subscription = ScriptedSubscription(list(script), lambda frame: None, batch=3)
            if i == 1:
                tg.start_soon(run_cancelled, recorder, subscription)
            else:
                tg.start_soon(recorder.run, subscription)
            await anyio.lowlevel.checkpoint()
        await anyio.sleep(0.05)
        cancelled.cancel()  # cam1 stops mid-stream: its last segment is closed and kept
    assert not archive.writer.members and archive.writer._leader is None
    for name in ("cam0", "cam2"):
        rows = await archive.run(archive.db.segments, name, 0, 2**62)
        assert rows and all(r.complete for r in rows) and len(rows) < len(alone)
    cut = await archive.run(archive.db.segments, "cam1", 0, 2**62)
    assert cut and all(r.complete for r in cut) and len(cut) < len(alone)
    rows = await archive.run(archive.db.segments, "cam3", 0, 2**62)
    assert [(r.duration_ms, r.bytes) for r in rows] == [(r.duration_ms, r.bytes) for r in alone]
    assert not archive.writing and not list((tmp_path / "shared").rglob("*.part"))
    await archive.close()
