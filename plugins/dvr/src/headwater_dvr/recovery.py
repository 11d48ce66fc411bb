"""Recovering the segment that was being written when the server died.

After ``kill -9`` (or a power cut) the last segment is a ``.part`` file whose index row
says "being written". At the next start that file is read once: a torn last TS packet is
cut off, the frames are counted with :class:`~headwater.media.mpegts.TSReader` to learn the
segment's true duration, and the file is renamed to its final name. A file with no whole
frame in it is deleted. Synchronous: the archive runs it in a worker thread.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from headwater.media.frames import CLOCK_RATE, Frame
from headwater.media.mpegts import PACKET_SIZE, TracksChanged, TSReader

log = logging.getLogger("headwater.dvr")

READ_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Recovered:
    """What a partial segment turned out to hold."""

    bytes: int
    duration_ms: int
    keyframes: int


def recover_file(path: Path) -> Recovered | None:
    """Make ``path`` a whole segment (cut a torn tail) and measure it; None when empty."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    whole = size - size % PACKET_SIZE
    if whole != size:
        os.truncate(path, whole)
        log.info("%s: cut a torn TS packet (%d bytes) off the end", path, size - whole)
    reader = TSReader()
    first: int | None = None
    ends: dict[int, int] = {}
    steps: dict[int, int] = {}
    keyframes = 0

    def take(events: list) -> None:
        nonlocal first, keyframes
        for event in events:
            if isinstance(event, TracksChanged):
                continue
            frame: Frame = event
            tid = frame.track.id
            if first is None or frame.dts < first:
                first = frame.dts
            last = ends.get(tid)
            if last is not None and 0 < frame.dts - last < 10 * CLOCK_RATE:
                steps[tid] = frame.dts - last
            ends[tid] = frame.dts
            if frame.keyframe and frame.track.is_video:
                keyframes += 1

    with path.open("rb") as source:
        while chunk := source.read(READ_CHUNK):
            take(reader.feed(chunk))
    # the last PES of each PID may be cut short: flush() only returns it when it is whole
    take(reader.flush())
    if first is None:
        return None
    end = max(dts + steps.get(tid, 0) for tid, dts in ends.items())
    return Recovered(whole, (end - first) * 1000 // CLOCK_RATE, keyframes)
