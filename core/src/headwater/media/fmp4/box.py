"""ISO base media file format boxes (ISO/IEC 14496-12 4.2): size, type, payload.

A box is a 32-bit big-endian size (header included), a four-character type and its
payload; a *full box* adds a version byte and 24 bits of flags. Everything in
:mod:`headwater.media.fmp4` is built from these two functions, so every size is right by
construction.
"""

from __future__ import annotations

import struct

_HEADER = struct.Struct(">I4s")
MAX_BOX = 0xFFFFFFFF
"""Largest box a 32-bit size can describe (larger would need ``largesize``; never here)."""


def box(kind: bytes, *payload: bytes) -> bytes:
    """One box of type ``kind`` (four bytes) holding ``payload`` (concatenated)."""
    if len(kind) != 4:
        raise ValueError(f"a box type is four bytes, not {kind!r}")
    body = b"".join(payload)
    size = _HEADER.size + len(body)
    if size > MAX_BOX:
        raise ValueError(f"box {kind!r} of {size} bytes is too large for a 32-bit size")
    return _HEADER.pack(size, kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    """A full box (14496-12 4.2): version (8 bits) and flags (24 bits) before the payload."""
    return box(kind, struct.pack(">I", (version << 24) | (flags & 0xFFFFFF)), *payload)
