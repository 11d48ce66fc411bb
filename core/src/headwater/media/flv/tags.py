"""The FLV file container (Adobe "Video File Format Specification" v10.1, Annex E.2-E.3):
the 9-byte header, then tags (11-byte header, body, 4-byte PreviousTagSize).

:class:`FlvReader` is sans-I/O: feed it bytes as they arrive, it returns whole tags.
:func:`encode_header` and :func:`encode_tag` write the same format (the DVR records with
them). Tag bodies are the same bytes RTMP carries in audio/video/data messages, so
:mod:`headwater.media.flv.video` and ``audio`` serve both.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from headwater.errors import MediaError

AUDIO = 8
VIDEO = 9
SCRIPT = 18

HEADER_SIZE = 9
TAG_HEADER_SIZE = 11
MAX_TAG_SIZE = 0xFFFFFF
"""DataSize is 24 bits wide."""

_TAG_HEADER = struct.Struct(
    ">BHBHBBHB"
)  # type, size hi16, size lo8, ts lo24 (hi16, lo8), ts ext, sid
_U32 = struct.Struct(">I")


class FlvError(MediaError):
    """Bytes that are not a valid FLV stream."""


@dataclass(frozen=True, slots=True)
class FlvHeader:
    """The FLV file header (E.2): which kinds of tags the file announces."""

    has_audio: bool
    has_video: bool


@dataclass(frozen=True, slots=True)
class FlvTag:
    """One FLV tag (E.3): ``kind`` is :data:`AUDIO`, :data:`VIDEO` or :data:`SCRIPT`;
    ``timestamp`` is in milliseconds (the 32-bit value, extended byte included)."""

    kind: int
    timestamp: int
    data: bytes


def encode_header(has_audio: bool = True, has_video: bool = True) -> bytes:
    """The FLV header plus PreviousTagSize0 (13 bytes)."""
    flags = (4 if has_audio else 0) | (1 if has_video else 0)
    return b"FLV\x01" + bytes((flags,)) + _U32.pack(HEADER_SIZE) + b"\0\0\0\0"


def encode_tag(kind: int, timestamp: int, body: bytes | bytearray | memoryview) -> bytes:
    """One tag with its trailing PreviousTagSize; ``timestamp`` wraps at 32 bits."""
    size = len(body)
    if size > MAX_TAG_SIZE:
        raise ValueError(f"FLV tag body of {size} bytes exceeds 16 MiB")
    ts = timestamp & 0xFFFFFFFF
    header = _TAG_HEADER.pack(
        kind, size >> 8, size & 0xFF, (ts >> 8) & 0xFFFF, ts & 0xFF, ts >> 24, 0, 0
    )
    return b"".join((header, body, _U32.pack(size + TAG_HEADER_SIZE)))


class FlvReader:
    """Incremental FLV parser: :meth:`feed` bytes, get the header and tags completed so far.

    Buffered bytes never exceed one tag plus one read, so memory is bounded by
    ``max_tag_size``.
    """

    def __init__(self, max_tag_size: int = MAX_TAG_SIZE) -> None:
        self._buf = bytearray()
        self._header_done = False
        self._max = max_tag_size

    def feed(self, data: bytes | bytearray | memoryview) -> list[FlvHeader | FlvTag]:
        """Consume ``data``; return what is now complete, in order."""
        self._buf += data
        buf = self._buf
        out: list[FlvHeader | FlvTag] = []
        pos = 0
        if not self._header_done:
            if len(buf) < HEADER_SIZE:
                return out
            if buf[:3] != b"FLV":
                raise FlvError("not an FLV stream: no 'FLV' signature")
            (offset,) = _U32.unpack_from(buf, 5)
            if offset < HEADER_SIZE or offset > 1024:
                raise FlvError(f"FLV header DataOffset {offset} out of range")
            if len(buf) < offset + 4:
                return out
            out.append(FlvHeader(bool(buf[4] & 4), bool(buf[4] & 1)))
            pos = offset + 4  # skip PreviousTagSize0
            self._header_done = True
        n = len(buf)
        while n - pos >= TAG_HEADER_SIZE:
            kind, hi, lo, ts_hi, ts_lo, ts_ext, _, _ = _TAG_HEADER.unpack_from(buf, pos)
            if kind & 0x20:
                raise FlvError("encrypted FLV tags (Filter bit) are not supported")
            size = (hi << 8) | lo
            if size > self._max:
                raise FlvError(f"FLV tag of {size} bytes exceeds the limit of {self._max}")
            end = pos + TAG_HEADER_SIZE + size + 4
            if end > n:
                break
            ts = (ts_ext << 24) | (ts_hi << 8) | ts_lo
            body = bytes(buf[pos + TAG_HEADER_SIZE : end - 4])
            out.append(FlvTag(kind & 0x1F, ts, body))
            pos = end
        del buf[:pos]
        return out
