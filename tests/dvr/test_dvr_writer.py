"""The segment writer of a root: many recorders' segments in one batch per flush, rows
first, files next, rows of what is on disk last; errors stay with their segment."""

from __future__ import annotations

import os
import shutil
import sqlite3

import anyio
import pytest

from headwater.media.frames import CLOCK_RATE
from headwater.media.segmenter import SegmentInfo
from headwater_dvr.archive import Archive
from headwater_dvr.index import INDEX_FILE, SegmentRow
from headwater_dvr.layout import final_path, part_path
from headwater_dvr.writer import (
    FLUSH_SECONDS,
    LATENCY_BUDGET,
    LATENCY_TICKS,
    LONGEST_TICK,
    TICK_GROWTH,
    OpenSegment,
    write_all,
)

pytestmark = pytest.mark.anyio

T0 = 1_795_000_000_000


def segment(stream: str, start_ms: int) -> OpenSegment:
    info = SegmentInfo(sequence=0, start=0, keyframes=1)
    return OpenSegment(info, stream, start_ms, part_path(stream, start_ms), True)


def add(seg: OpenSegment, data: bytes, seconds: float) -> None:
    """What the recorder's feed loop does with a frame's TS bytes."""
    seg.buffer.append(data)
    seg.buffered += len(data)
    seg.last_dts = int(seconds * CLOCK_RATE)


def finish(seg: OpenSegment, duration_ms: int) -> SegmentRow:
    return SegmentRow(
        seg.stream,
        seg.start_ms,
        duration_ms,
        seg.written + seg.buffered,
        final_path(seg.stream, seg.start_ms, duration_ms),
        1,
        seg.discontinuity,
        complete=True,
    )


def rows_on_disk(root) -> list[tuple]:
    """The index as another process (a restart after kill -9) would read it."""
    db = sqlite3.connect(root / INDEX_FILE)
    try:
        return db.execute(
            "SELECT stream, start_ms, bytes, path, complete FROM segments ORDER BY stream"
        ).fetchall()
    finally:
        db.close()


@pytest.fixture
async def archive(tmp_path):
    archive = Archive(tmp_path)
    await archive.open()
    yield archive
    await archive.close()


async def test_one_flush_writes_every_stream_and_indexes_only_bytes_on_disk(archive, tmp_path):
    writer = archive.writer
    segs = [segment(f"cam{i}", T0 + i) for i in range(20)]
    for i, seg in enumerate(segs):
        writer.begin(seg)
        add(seg, bytes([i]) * (188 * (i + 1)), 0.5)
    assert not list(tmp_path.rglob("*.part")), "nothing touches the disk before a flush"
    before = writer.flushes
    reread: list[str] = []
    refresh_many = archive.refresh_many

    async def spying_refresh_many(streams):
        reread.extend(streams)
        await refresh_many(streams)

    archive.refresh_many = spying_refresh_many
    await writer.flush()
    # a new segment's started and progress rows come in one flush: its summary is made
    # from them, no stream is read back from the database
    assert reread == []
    assert writer.flushes == before + 1
    rows = rows_on_disk(tmp_path)
    assert len(rows) == 20 and all(r[4] == 0 for r in rows)
    for stream, _start, size, path, _ in rows:
        assert (tmp_path / path).stat().st_size == size > 0, stream
    # the in-memory summaries are what the database says
    for seg in segs:
        summary = archive.summaries[seg.stream]
        assert (summary.bytes, summary.segments) == archive.db.totals(seg.stream)
        assert summary.ranges == [(seg.start_ms, seg.start_ms + 500)]

    for i, seg in enumerate(segs):
        add(seg, bytes([i]) * 188, 1.0)
        writer.end(seg, finish(seg, 1000))
    await writer.flush()
    rows = rows_on_disk(tmp_path)
    assert all(r[4] == 1 for r in rows) and not list(tmp_path.rglob("*.part"))
    for stream, _start, size, path, _ in rows_on_disk(tmp_path):
        i = int(stream.removeprefix("cam"))
        assert size == 188 * (i + 2)
        assert (tmp_path / path).read_bytes() == bytes([i]) * size
    assert not archive.writing and not writer.segments
    for seg in segs:
        summary = archive.summaries[seg.stream]
        assert (
            summary.ranges == archive.db.ranges(seg.stream) == [(seg.start_ms, seg.start_ms + 1000)]
        )


async def test_the_row_of_a_new_segment_is_committed_before_its_file_exists(archive, tmp_path):
    """Checked from inside the thread call: at file creation, the row is already there."""
    writer = archive.writer
    seen = []
    create = writer._create

    def spying_create(seg, path):
        seen.append(("row" if rows_on_disk(tmp_path) else "no row", os.path.exists(path)))
        create(seg, path)

    writer._create = spying_create  # type: ignore[method-assign]
    seg = segment("cam", T0)
    writer.begin(seg)
    add(seg, b"\x47" * 188, 0.1)
    await writer.flush()
    assert seen == [("row", False)]


async def test_a_directory_removed_meanwhile_is_made_again(archive, tmp_path):
    writer = archive.writer
    first = segment("cam", T0)
    writer.begin(first)
    add(first, b"a" * 188, 0.1)
    writer.end(first, finish(first, 100))
    await writer.flush()
    # retention deleted it and pruned the (remembered) minute directory
    shutil.rmtree(tmp_path / "cam")
    second = segment("cam", T0 + 100)
    writer.begin(second)
    add(second, b"b" * 188, 0.1)
    await writer.flush()
    assert (tmp_path / second.path).read_bytes() == b"b" * 188


async def test_a_write_error_ends_only_its_segment(archive, tmp_path):
    writer = archive.writer
    good, bad = segment("good", T0), segment("bad", T0)
    (tmp_path / "bad").write_bytes(b"")  # a file where the stream's directory should be
    for seg in (good, bad):
        writer.begin(seg)
        add(seg, b"x" * 188, 0.1)
    await writer.flush()
    assert bad.error is not None and good.error is None
    assert (tmp_path / good.path).stat().st_size == 188
    with pytest.raises(OSError):
        await writer.pace(bad)  # its recorder stops with the error at its next step
    await writer.pace(good)


async def test_a_flush_running_in_another_task_takes_the_batch_once(archive, tmp_path):
    """Recorders that find a flush running go on; the bytes are written exactly once."""
    writer = archive.writer
    segs = [segment(f"s{i}", T0) for i in range(5)]
    for seg in segs:
        writer.begin(seg)
        add(seg, b"y" * 376, 0.2)
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(writer.flush)
    for seg in segs:
        assert (tmp_path / seg.path).stat().st_size == 376 == seg.written


@pytest.mark.parametrize(
    ("lags", "longest", "tick"),
    [
        ([], LONGEST_TICK, FLUSH_SECONDS),  # nothing measured yet: the shortest
        ([(0.8, 0.0), (0.7, 0.01)], LONGEST_TICK, LONGEST_TICK),  # quick passes: long ones
        ([(0.4, 0.0)], LONGEST_TICK, 0.4 * TICK_GROWTH),  # but growing a step at a time
        ([(0.6, 0.09)], LONGEST_TICK, LATENCY_BUDGET / 1.3),  # the lag grows with the tick
        ([(0.4, 0.06), (0.6, 0.06), (0.8, 0.05)], LONGEST_TICK, LATENCY_BUDGET / 1.3),
        ([(0.5, 0.1), (0.8, 0.24), (0.6, 0.1)], LONGEST_TICK, LATENCY_BUDGET / 1.6),
        ([(0.4, 0.3)], LONGEST_TICK, FLUSH_SECONDS),  # slow: never below the shortest
        ([(0.4, 3.0)], LONGEST_TICK, FLUSH_SECONDS),
        ([(0.6, 0.01)], 0.6, 0.6),  # a shorter longest tick (a recorder's ``gather``)
        ([(0.25, 0.5)], 0.25, 0.25),  # below the shortest: a fixed tick (tests, benches)
        ([(0.4, 0.2)] + [(0.6, 0.09)] * LATENCY_TICKS, LONGEST_TICK, LATENCY_BUDGET / 1.3),
    ],
)
def test_the_tick_leaves_room_for_the_pass_and_the_write(tmp_path, lags, longest, tick) -> None:
    """A frame just missed by a pass reaches the OS a tick plus the next pass and write
    after it arrives: the tick is the longest that leaves room for twice the lag the
    recent ticks predict for it (in proportion to their length), within bounds, so a
    ``kill -9`` loses at most the last second."""
    writer = Archive(tmp_path).writer
    writer.lags.extend(lags)
    assert writer.next_tick(longest) == pytest.approx(tick)
    recent = lags[-LATENCY_TICKS:]
    if recent and FLUSH_SECONDS < tick <= LONGEST_TICK:  # room for a pass twice as slow
        predicted = tick * max(lag / t for t, lag in recent)
        assert tick + 2 * predicted <= LATENCY_BUDGET + 1e-9 < 1.0


async def test_each_tick_records_its_lag(archive) -> None:
    """The lag of every pass (from when it was due until its bytes were written) is what
    the next tick is fitted to."""

    class Member:
        def __init__(self) -> None:
            self.finished = False
            self.polls = 0

        def poll(self) -> None:
            self.polls += 1
            self.finished = self.polls == 3

    member = Member()
    await archive.writer.attend(member, 0.01)
    assert member.polls == 3
    assert len(archive.writer.lags) == 3
    assert all(tick == 0.01 and 0 <= lag < 1 for tick, lag in archive.writer.lags)
    # after a while without recorders the next ones start from the shortest tick again
    archive.writer.lags.extend([(0.8, 0.0)] * 3)
    archive.writer._due -= 10
    member = Member()
    await archive.writer.attend(member, 0.01)
    assert len(archive.writer.lags) == 3


@pytest.mark.parametrize("count", [1, 2, 37, 1024, 1025, 3000])
def test_write_all_writes_the_chunks_in_order(tmp_path, count):
    chunks = [bytes([i % 251]) * (1 + i % 300) for i in range(count)]
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        assert write_all(fd, chunks) == sum(map(len, chunks))
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(chunks)
