"""The end of an FLV file already on disk: where its last whole tag ends and its timestamp.

A recording appended to an existing file continues that file's timeline, and a file cut
short by a crash (half a tag at the end) is trimmed back to its last whole tag first.
Plain blocking file reads: call it from a worker thread.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from headwater.media.flv.tags import AUDIO, HEADER_SIZE, SCRIPT, TAG_HEADER_SIZE, VIDEO

_KINDS = (AUDIO, VIDEO, SCRIPT)


def _header(raw: bytes) -> tuple[int, int, int]:
    """(kind, data size, timestamp ms) of an 11-byte tag header."""
    kind = raw[0] & 0x1F
    size = int.from_bytes(raw[1:4], "big")
    ts = int.from_bytes(raw[4:7], "big") | (raw[7] << 24)
    return kind, size, ts


BACKWARD_TAGS = 512
"""Tags read back from the end for the latest timestamp (audio and video interleave, so the
last tag is not always the latest)."""


def flv_tail(path: Path) -> tuple[int, int | None]:
    """``(end, latest)``: the offset after the last whole tag, and the latest timestamp.

    ``latest`` is the largest timestamp of the last :data:`BACKWARD_TAGS` tags, None when
    the file holds no whole tag. The PreviousTagSize chain is followed back from the end
    while it is consistent; a file whose end is not a whole tag is walked from the start
    (header reads only).
    """
    with path.open("rb") as f:
        size = f.seek(0, 2)
        if size < HEADER_SIZE + 4:
            return size, None
        latest = _backward(f, size)
        if latest is not None:
            return size, latest
        pos, latest = HEADER_SIZE + 4, None
        while pos + TAG_HEADER_SIZE <= size:
            f.seek(pos)
            kind, data, ts = _header(f.read(TAG_HEADER_SIZE))
            end = pos + TAG_HEADER_SIZE + data + 4
            if kind not in _KINDS or end > size:
                break
            pos, latest = end, ts if latest is None else max(latest, ts)
        return pos, latest


def _backward(f: BinaryIO, size: int) -> int | None:
    """The latest timestamp of the last tags, following PreviousTagSize; None when the
    end of the file is not a whole tag."""
    end, latest = size, None
    for _ in range(BACKWARD_TAGS):
        if end < HEADER_SIZE + 4 + TAG_HEADER_SIZE + 4:
            break
        f.seek(end - 4)
        (prev,) = struct.unpack(">I", f.read(4))
        start = end - 4 - prev
        if prev < TAG_HEADER_SIZE or start < HEADER_SIZE + 4:
            break
        f.seek(start)
        kind, data, ts = _header(f.read(TAG_HEADER_SIZE))
        if kind not in _KINDS or data + TAG_HEADER_SIZE != prev:
            break
        latest = ts if latest is None else max(latest, ts)
        end = start
    return latest
