"""Retention by each limit with an injected clock and disk probe; recovery of torn segments."""

from __future__ import annotations

import logging

import pytest

from headwater.config.models import DVRSettings
from headwater_dvr.archive import Archive
from headwater_dvr.index import SegmentRow
from headwater_dvr.layout import final_path, part_path
from headwater_dvr.recovery import recover_file
from headwater_dvr.retention import DiskUsage, sweep

pytestmark = pytest.mark.anyio

T0 = 1_795_000_000  # UTC seconds


@pytest.fixture
def clip(test_media):
    """A 3 s H.264 + AAC MPEG-TS clip with a keyframe a second (what a segment holds)."""
    return test_media("h264", "aac", "ts", seconds=3, gop=25, size="160x120")


async def archive_with(root, streams: dict[str, int], size: int = 1000) -> Archive:
    """An open archive whose streams each have ``n`` 4 s segments from T0, files included."""
    archive = Archive(root)
    await archive.open()
    for stream, count in streams.items():
        for i in range(count):
            start = (T0 + 4 * i) * 1000
            row = SegmentRow(stream, start, 4000, size, final_path(stream, start, 4000))
            path = root / row.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x47" * size)
            await archive.put(row)
    return archive


def starts(archive: Archive, stream: str) -> list[int]:
    summary = archive.summaries.get(stream)
    return [] if summary is None else [(s // 1000 - T0) for s, _ in summary.ranges]


# (what, dvr settings, now (s after T0), segments of "a" left)
CASES = [
    ("nothing to do", {}, 100, 10),
    ("age: ended more than 10 s ago", {"expiration": 10}, 40, 3),
    ("age: nothing old enough", {"expiration": "1h"}, 40, 10),
    ("size: 5 segments fit", {"storage_limit": 5000}, 40, 5),
    ("size: 5.5 segments still 5", {"storage_limit": 5500}, 40, 5),
    ("size and age: the stricter wins", {"storage_limit": 7000, "expiration": 20}, 40, 5),
    ("size and age: size stricter", {"storage_limit": 2000, "expiration": 20}, 40, 2),
]


@pytest.mark.parametrize(("dvr", "now", "left"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_age_and_size(tmp_path, dvr, now, left) -> None:
    archive = await archive_with(tmp_path, {"a": 10, "b": 10})
    settings = DVRSettings(root=str(tmp_path), **dvr)
    report = await sweep(archive, lambda s: settings if s == "a" else None, T0 + now)
    assert archive.summaries["a"].segments == left
    assert archive.summaries["b"].segments == 10  # no settings match: kept
    kept = sorted(p.name for p in (tmp_path / "a").rglob("*.ts"))
    assert len(kept) == left
    assert report.total == 10 - left
    first = archive.summaries["a"].ranges[0][0]
    assert first == (T0 + 4 * (10 - left)) * 1000  # the oldest went first
    await archive.close()


async def test_disk_usage_deletes_oldest_across_limited_streams(tmp_path) -> None:
    archive = await archive_with(tmp_path, {"a": 10, "b": 10, "c": 10})
    limited = DVRSettings(root=str(tmp_path), disk_usage_limit=90)
    free_forever = DVRSettings(root=str(tmp_path))
    other_used = 8_000

    def probe(_root: str) -> DiskUsage:  # a 40 kB disk: 8 kB of other files + the archive
        used = other_used + sum(s.bytes for s in archive.summaries.values())
        return DiskUsage(40_000, used, 40_000 - used)

    settings = {"a": limited, "b": limited, "c": free_forever}
    await sweep(archive, settings.get, T0 + 100, disk_usage=probe)
    assert probe("").used <= 36_000
    assert archive.summaries["c"].segments == 10
    a, b = archive.summaries["a"].segments, archive.summaries["b"].segments
    assert a + b == 18 and abs(a - b) <= 1  # the two oldest of a and of b, by time
    await archive.close()


async def test_the_segment_being_written_is_never_deleted(tmp_path, caplog) -> None:
    archive = await archive_with(tmp_path, {"a": 3})
    archive.writing.add(("a", T0 * 1000))
    settings = DVRSettings(root=str(tmp_path), expiration=1)
    with caplog.at_level(logging.DEBUG, "headwater.dvr"):
        await sweep(archive, lambda s: settings, T0 + 1000)
    assert archive.summaries["a"].segments == 1
    assert "retention deleted expiration: 2 segments, 2000 bytes" in caplog.text
    assert caplog.text.count("deleted a/") == 2
    await archive.close()


@pytest.mark.parametrize("torn", [0, 100, 187])
def test_recover_cuts_a_torn_packet_and_measures_the_duration(tmp_path, clip, torn) -> None:
    data = clip.read_bytes()
    path = tmp_path / "x.ts.part"
    path.write_bytes(data + data[188 : 188 + torn])
    found = recover_file(path)
    assert found is not None
    assert found.bytes == len(data) == path.stat().st_size
    assert 2900 <= found.duration_ms <= 3100
    assert found.keyframes == 3


def test_recover_gives_up_on_a_file_without_frames(tmp_path) -> None:
    path = tmp_path / "empty.ts.part"
    path.write_bytes(b"\x47\x1f\xff\x10" + bytes(184) + b"\x00" * 50)
    assert recover_file(path) is None
    assert recover_file(tmp_path / "missing") is None


async def test_opening_an_archive_recovers_open_rows(tmp_path, clip) -> None:
    data = clip.read_bytes()
    start = T0 * 1000
    part = part_path("cam", start)
    empty = part_path("cam", start + 60_000)  # its row was written, its file never was
    first = Archive(tmp_path)
    await first.open()
    await first.put(SegmentRow("cam", start, 500, 1000, part, complete=False))
    await first.put(SegmentRow("cam", start + 60_000, 0, 0, empty, complete=False))
    await first.close()
    (tmp_path / part).parent.mkdir(parents=True)
    (tmp_path / part).write_bytes(data[:-50])  # then the server was killed mid-packet
    archive = Archive(tmp_path)
    await archive.open()
    rows = await archive.run(archive.db.segments, "cam", 0, 2**62)
    assert len(rows) == 1 and rows[0].complete
    assert rows[0].bytes == len(data) - 188  # the torn last packet is cut off
    assert 2900 <= rows[0].duration_ms <= 3100
    assert rows[0].path == final_path("cam", start, rows[0].duration_ms)
    assert (tmp_path / rows[0].path).stat().st_size == rows[0].bytes
    assert not list(tmp_path.rglob("*.part"))
    await archive.close()


async def test_a_segment_renamed_before_its_row_was_committed_is_adopted(tmp_path, clip) -> None:
    """Killed between the rename to the final name and the commit of the complete row."""
    data = clip.read_bytes()
    start = T0 * 1000
    first = Archive(tmp_path)
    await first.open()
    await first.put(SegmentRow("cam", start, 1000, 5000, part_path("cam", start), complete=False))
    await first.close()
    final = tmp_path / final_path("cam", start, 3000)
    final.parent.mkdir(parents=True)
    final.write_bytes(data)
    archive = Archive(tmp_path)
    await archive.open()
    (row,) = await archive.run(archive.db.segments, "cam", 0, 2**62)
    assert row.complete and row.path == final_path("cam", start, 3000)
    assert (row.bytes, row.duration_ms, row.keyframes) == (len(data), 3000, 3)
    await archive.close()
