"""The SQLite archive index: ranges kept as segments come and go, time queries, rebuild."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from headwater_dvr.index import INDEX_FILE, ArchiveIndex, SegmentRow
from headwater_dvr.layout import final_path, parse_path, part_path

T0 = 1_795_000_000_000  # some UTC milliseconds


def seg(start_s: float, dur_s: float = 4, stream: str = "cam", size: int = 1000) -> SegmentRow:
    start = T0 + int(start_s * 1000)
    dur = int(dur_s * 1000)
    return SegmentRow(stream, start, dur, size, final_path(stream, start, dur), keyframes=1)


def rel(ranges: list[tuple[int, int]]) -> list[tuple[float, float]]:
    return [((a - T0) / 1000, (b - T0) / 1000) for a, b in ranges]


@pytest.fixture
def index(tmp_path):
    idx = ArchiveIndex.open(tmp_path)
    yield idx
    idx.close()


# (what, segments added as (start, duration), expected ranges)
RANGE_CASES = [
    ("contiguous", [(0, 4), (4, 4), (8, 4)], [(0, 12)]),
    ("a gap starts a new range", [(0, 4), (4, 4), (20, 4)], [(0, 8), (20, 24)]),
    ("within the tolerance", [(0, 4), (4.9, 4)], [(0, 8.9)]),
    ("out of order fills the gap", [(0, 4), (8, 4), (4, 4)], [(0, 12)]),
    ("out of order before everything", [(8, 4), (0, 4)], [(0, 4), (8, 12)]),
]


@pytest.mark.parametrize(
    ("added", "expected"), [c[1:] for c in RANGE_CASES], ids=[c[0] for c in RANGE_CASES]
)
def test_ranges_follow_additions(index, added, expected) -> None:
    for start, dur in added:
        index.put(seg(start, dur))
    assert rel(index.ranges("cam")) == expected
    assert index.totals("cam") == (1000 * len(added), len(added))


def test_updating_the_open_segment_extends_its_range_without_double_counting(index) -> None:
    index.put(seg(0, 4))
    growing = seg(4, 0)
    for dur in (1, 2, 3.5):
        index.put(SegmentRow("cam", growing.start_ms, int(dur * 1000), 500, "x", complete=False))
    assert rel(index.ranges("cam")) == [(0, 7.5)]
    assert index.totals("cam") == (1500, 2)
    assert [r.start_ms for r in index.open_rows()] == [growing.start_ms]


# (what, segments, removed indexes, expected ranges)
REMOVE_CASES = [
    ("oldest first", [0, 4, 8, 20], [0], [(4, 12), (20, 24)]),
    ("a whole first range", [0, 4, 8, 20], [0, 1, 2], [(20, 24)]),
    ("from the middle splits", [0, 4, 8, 12], [1, 2], [(0, 4), (12, 16)]),
    ("the newest", [0, 4, 8], [2], [(0, 8)]),
    ("everything", [0, 4], [0, 1], []),
]


@pytest.mark.parametrize(
    ("starts", "removed", "expected"),
    [c[1:] for c in REMOVE_CASES],
    ids=[c[0] for c in REMOVE_CASES],
)
def test_ranges_follow_removals(index, starts, removed, expected) -> None:
    rows = [seg(s) for s in starts]
    for row in rows:
        index.put(row)
    index.remove([rows[i] for i in removed])
    assert rel(index.ranges("cam")) == expected
    left = len(starts) - len(removed)
    assert index.totals("cam") == ((1000 * left, left) if left else (0, 0))
    assert ("cam" in index.streams()) == bool(left)


def test_time_queries_find_overlapping_segments_only(index) -> None:
    for start in (0, 4, 8, 12, 30):
        index.put(seg(start))
    index.put(seg(100, stream="other"))

    def starts(lo: float, hi: float) -> list[float]:
        found = index.segments("cam", T0 + int(lo * 1000), T0 + int(hi * 1000))
        return [(r.start_ms - T0) / 1000 for r in found]

    assert starts(0, 4) == [0]
    assert starts(5, 9) == [4, 8]  # the segment running into the window is included
    assert starts(16, 30) == []
    assert starts(16, 31) == [30]
    assert starts(-100, 1000) == [0, 4, 8, 12, 30]
    assert index.segment("cam", T0 + 8000) == seg(8)
    assert index.segment("cam", T0 + 8001) is None


def test_oldest_skips_open_segments_and_respects_before(index) -> None:
    for start in (0, 4, 8):
        index.put(seg(start))
    index.put(SegmentRow("cam", T0 + 12000, 1000, 10, "open", complete=False))
    assert [r.start_ms - T0 for r in index.oldest("cam", 10)] == [0, 4000, 8000]
    assert [r.start_ms - T0 for r in index.oldest("cam", 10, T0 + 8000)] == [0, 4000]
    assert [r.start_ms - T0 for r in index.oldest("cam", 1)] == [0]


def test_rebuild_from_file_names_alone(tmp_path) -> None:
    rows = [seg(0), seg(4), seg(30), seg(0, stream="live/a/b")]
    for row in rows:
        path = tmp_path / row.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x47" * row.bytes)
    part = tmp_path / part_path("cam", T0 + 34000)
    part.write_bytes(b"\x47" * 188)
    (tmp_path / "cam" / "notes.txt").write_text("not a segment")
    index = ArchiveIndex.open(tmp_path)
    try:
        assert index.streams() == ["cam", "live/a/b"]
        assert rel(index.ranges("cam")) == [(0, 8), (30, 34)]
        assert [r.path for r in index.open_rows()] == [part.relative_to(tmp_path).as_posix()]
        assert index.segment("cam", T0) == replace(rows[0], keyframes=0)  # not in names
    finally:
        index.close()


def test_a_damaged_index_is_moved_aside_and_rebuilt(tmp_path, caplog) -> None:
    row = seg(0)
    (tmp_path / row.path).parent.mkdir(parents=True)
    (tmp_path / row.path).write_bytes(b"\x47" * 1000)
    (tmp_path / INDEX_FILE).write_bytes(b"this is not a database" * 100)
    index = ArchiveIndex.open(tmp_path)
    try:
        assert index.segment("cam", T0) == replace(row, keyframes=0)
    finally:
        index.close()
    assert "damaged" in caplog.text and "rebuilt from 1 files" in caplog.text
    assert list(tmp_path.glob(f"{INDEX_FILE}.damaged-*"))


def test_the_database_is_in_wal_mode_with_an_index_on_time(index) -> None:
    db = sqlite3.connect(index.path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM segments WHERE stream = 'a' AND start_ms >= 5 "
            "AND start_ms < 9"
        ).fetchall()
        assert "USING PRIMARY KEY" in str(plan) or "USING INDEX" in str(plan)
    finally:
        db.close()


# (what, relative path, parsed or None)
PATH_CASES = [
    ("complete", "cam/2026/11/29/10/00/07.250-4000.ts", ("cam", 1795946407250, 4000)),
    ("nested name", "a/b/c/2026/11/29/10/00/07.250-4000.ts", ("a/b/c", 1795946407250, 4000)),
    (
        "a name that looks like a date",
        "x/2026/01/01/00/00/2026/11/29/10/00/07.250-1.ts",
        ("x/2026/01/01/00/00", 1795946407250, 1),
    ),
    ("part", "cam/2026/11/29/10/00/07.250.ts.part", ("cam", 1795946407250, None)),
    ("no name", "2026/11/29/10/00/07.250-4000.ts", None),
    ("bad month", "cam/2026/13/29/10/00/07.250-4000.ts", None),
    ("bad file", "cam/2026/11/29/10/00/07-4000.ts", None),
    ("dot segment", "../2026/11/29/10/00/07.250-4000.ts", None),
]


@pytest.mark.parametrize(
    ("path", "parsed"), [c[1:] for c in PATH_CASES], ids=[c[0] for c in PATH_CASES]
)
def test_layout_paths_parse_back(path, parsed) -> None:
    got = parse_path(path)
    assert (None if got is None else (got.stream, got.start_ms, got.duration_ms)) == parsed
    if got is not None and got.duration_ms is not None:
        assert final_path(got.stream, got.start_ms, got.duration_ms) == path


def _state(idx: ArchiveIndex, streams: list[str]) -> tuple:
    return tuple(
        (idx.segments(s, 0, 2**62, complete_only=False), idx.ranges(s), idx.totals(s))
        for s in streams
    )


# (what, finished segments before, the open one's start, its progress durations)
PROGRESS_CASES = [
    ("first segment", [], 0, [1, 2, 3.5]),
    ("after a contiguous one", [(0, 4)], 4, [0.5, 1.7]),
    ("after a gap", [(0, 4)], 10, [1, 2]),
    ("growing into the next range", [(0, 4), (9, 4)], 4, [1, 4.5]),
    ("after the oldest were removed", [(0, 4), (4, 4)], 8, [1, 2]),
]


@pytest.mark.parametrize(("what", "before", "start", "steps"), PROGRESS_CASES)
def test_set_based_progress_equals_row_by_row(tmp_path, what, before, start, steps):
    """The writer's one-transaction progress gives the index row-by-row puts give."""
    streams = ["cam", "other"]
    indexes = [ArchiveIndex.open(tmp_path / "rows"), ArchiveIndex.open(tmp_path / "set")]
    try:
        for idx in indexes:
            for stream in streams:
                for a, d in before:
                    idx.put(seg(a, d, stream))
                if what == "after the oldest were removed":
                    idx.remove([seg(0, 4, stream)])
                opened = seg(start, 0, stream, size=0)
                idx.put(replace(opened, path=part_path(stream, opened.start_ms), complete=False))
        rows_idx, set_idx = indexes
        for i, dur in enumerate(steps):
            rows = [
                replace(
                    seg(start, dur, stream, size=1000 * (i + 1)),
                    path=part_path(stream, T0 + int(start * 1000)),
                    complete=False,
                )
                for stream in streams
            ]
            for row in rows:
                rows_idx.put(row)
            totals = set_idx.commit(rows, [])
            assert _state(set_idx, streams) == _state(rows_idx, streams), what
            assert totals == {s: rows_idx.totals(s) for s in streams}
    finally:
        for idx in indexes:
            idx.close()
