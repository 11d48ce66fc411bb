"""A small ISO BMFF box reader for the tests: the fMP4 writer's output is parsed back with
code that shares nothing with it."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"dinf"}


@dataclass
class Box:
    kind: bytes
    payload: bytes
    offset: int
    size: int
    children: list[Box] = field(default_factory=list)

    def find(self, *path: bytes) -> Box:
        box = self
        for kind in path:
            matches = [c for c in box.children if c.kind == kind]
            assert matches, f"no {kind!r} in {box.kind!r}: {[c.kind for c in box.children]}"
            box = matches[0]
        return box

    def all(self, kind: bytes) -> list[Box]:
        return [c for c in self.children if c.kind == kind]

    @property
    def version_flags(self) -> tuple[int, int]:
        word = struct.unpack(">I", self.payload[:4])[0]
        return word >> 24, word & 0xFFFFFF

    @property
    def body(self) -> bytes:
        """The payload after a full box's version and flags."""
        return self.payload[4:]


def parse(data: bytes, base: int = 0, *, stsd: bool = True) -> list[Box]:
    """Every box in ``data`` (sizes must add up exactly), containers opened."""
    out, pos = [], 0
    while pos < len(data):
        assert pos + 8 <= len(data), "truncated box header"
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        assert size >= 8 and pos + size <= len(data), f"box {kind!r} size {size} runs over"
        payload = data[pos + 8 : pos + size]
        box = Box(kind, payload, base + pos, size)
        if kind in CONTAINERS:
            box.children = parse(payload, base + pos + 8)
        elif kind == b"stsd" and stsd:
            box.children = parse(payload[8:], base + pos + 16, stsd=False)
        out.append(box)
        pos += size
    return out


def root(data: bytes) -> Box:
    return Box(b"root", data, 0, len(data), parse(data))


def sample_entry_children(entry: Box, header: int) -> list[Box]:
    """The boxes after a sample entry's fixed fields (78 bytes visual, 28 audio)."""
    return parse(entry.payload[header:])


def descriptors(data: bytes) -> dict[int, bytes]:
    """MPEG-4 descriptors by tag, nested ones opened (ES 3 → DecoderConfig 4 → DSI 5...)."""
    found: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        tag = data[pos]
        pos += 1
        size = 0
        while True:
            byte = data[pos]
            pos += 1
            size = (size << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        body = data[pos : pos + size]
        assert len(body) == size, "descriptor runs over"
        found[tag] = body
        if tag == 3:
            found.update(descriptors(body[3:]))
        elif tag == 4:
            found.update(descriptors(body[13:]))
        pos += size
    return found
