"""Where segments live on disk: ``ROOT/NAME/YYYY/MM/DD/HH/MM/SS.mmm-DURATION.ts`` (UTC).

The start (to the millisecond) and the duration (milliseconds) are in the file name, so
the index can be rebuilt from a directory walk alone, without reading a byte of video; a
segment still being written is named ``SS.mmm.ts.part`` until it is complete. Stream
names are validated by :func:`headwater.naming.validate_name` (no empty, ``.`` or ``..``
segment, no leading ``/``, a fixed alphabet) before they become a path, and every path is
checked to stay under its root.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from headwater import name_problem, validate_name

PART_SUFFIX = ".part"
_FILE = re.compile(r"^(\d{2})\.(\d{3})-(\d+)\.ts$")
_PART = re.compile(r"^(\d{2})\.(\d{3})\.ts\.part$")
_DIGITS = (4, 2, 2, 2, 2)


@dataclass(frozen=True, slots=True)
class SegmentName:
    """A segment file parsed back from its path relative to the root."""

    stream: str
    start_ms: int
    duration_ms: int | None
    """None for a ``.part`` file (its duration is only known after reading it)."""


def stream_dir(root: Path, name: str) -> Path:
    """The directory of ``name``'s archive under ``root`` (the name is validated first)."""
    validate_name(name)
    path = root / name
    if root.resolve() not in path.resolve().parents:
        raise ValueError(f"stream name {name!r} leaves the DVR root")
    return path


def _stamp(start_ms: int) -> tuple[str, str]:
    t = time.gmtime(start_ms // 1000)
    folder = f"{t.tm_year:04d}/{t.tm_mon:02d}/{t.tm_mday:02d}/{t.tm_hour:02d}/{t.tm_min:02d}"
    return folder, f"{t.tm_sec:02d}.{start_ms % 1000:03d}"


def part_path(name: str, start_ms: int) -> str:
    """Relative path of the segment of ``name`` starting at ``start_ms`` while it is written."""
    folder, stem = _stamp(start_ms)
    return f"{name}/{folder}/{stem}.ts{PART_SUFFIX}"


def final_path(name: str, start_ms: int, duration_ms: int) -> str:
    """Relative path of a complete segment."""
    folder, stem = _stamp(start_ms)
    return f"{name}/{folder}/{stem}-{duration_ms}.ts"


def parse_path(relative: str) -> SegmentName | None:
    """The stream, start and duration of a segment path relative to the root, or None.

    The last six components are always the date folders and the file, so a stream name
    that itself looks like a date still parses.
    """
    parts = PurePosixPath(relative).parts
    if len(parts) < 7:
        return None
    *name_parts, year, month, day, hour, minute, file = parts
    dated = (year, month, day, hour, minute)
    if not all(p.isdigit() and len(p) == n for p, n in zip(dated, _DIGITS, strict=True)):
        return None
    full = _FILE.match(file)
    part = None if full else _PART.match(file)
    if not full and not part:
        return None
    match = full or part
    assert match is not None
    second, millis = int(match.group(1)), int(match.group(2))
    try:
        struct = time.strptime(f"{year}{month}{day}{hour}{minute}{second:02d}", "%Y%m%d%H%M%S")
    except ValueError:
        return None
    start_ms = calendar.timegm(struct) * 1000 + millis
    name = "/".join(name_parts)
    if name_problem(name):
        return None
    return SegmentName(name, start_ms, int(full.group(3)) if full else None)
