"""Enhanced RTMP body structure shared by audio and video tags (veovera enhanced-rtmp v2).

An enhanced body may carry ModEx prefixes (modifier extensions) before its packet type,
and a multitrack packet wraps one or more (FourCC, track id, payload) entries. Audio and
video differ only in the bits around these, so the walking is done here once.
"""

from __future__ import annotations

from headwater.media.flv.tags import FlvError

MODEX = 7
"""PacketType of a ModEx prefix (the same value for audio and video)."""
ONE_TRACK, MANY_TRACKS, MANY_TRACKS_MANY_CODECS = 0, 1, 2
"""AvMultitrackType values."""


def need(body: bytes | memoryview, pos: int, n: int, what: str, kind: str) -> None:
    """Raise :class:`FlvError` unless ``n`` bytes are left at ``pos``."""
    if pos + n > len(body):
        raise FlvError(f"{kind} tag body truncated in {what}")


def skip_mod_ex(body: bytes | memoryview, packet_type: int, pos: int, kind: str) -> tuple[int, int]:
    """Skip ModEx prefixes; return the real packet type and the position after it.

    None of the defined modifiers (timestamp offsets in nanoseconds) change what headwater
    keeps, so their data is skipped after its size is checked.
    """
    while packet_type == MODEX:
        need(body, pos, 1, "ModEx size", kind)
        size = body[pos] + 1
        pos += 1
        if size == 256:
            need(body, pos, 2, "ModEx size", kind)
            size = int.from_bytes(body[pos : pos + 2], "big") + 1
            pos += 2
        need(body, pos, size + 1, "ModEx data", kind)
        pos += size
        packet_type = body[pos] & 0x0F  # the upper nibble is the ModEx type
        pos += 1
    return packet_type, pos


def split_multitrack(
    body: bytes | memoryview, pos: int, kind: str
) -> tuple[int, list[tuple[bytes | memoryview, int, bytes | memoryview]]]:
    """Walk a multitrack packet at ``pos``: its inner packet type and (FourCC, track, payload)s."""
    need(body, pos, 1, "multitrack type", kind)
    multitrack_type = body[pos] >> 4
    packet_type = body[pos] & 0x0F
    pos += 1
    fourcc: bytes | memoryview = b""
    if multitrack_type != MANY_TRACKS_MANY_CODECS:
        need(body, pos, 4, "FourCC", kind)
        fourcc = body[pos : pos + 4]
        pos += 4
    entries = []
    while pos < len(body):
        if multitrack_type == MANY_TRACKS_MANY_CODECS:
            need(body, pos, 4, "FourCC", kind)
            fourcc = body[pos : pos + 4]
            pos += 4
        need(body, pos, 1, "track id", kind)
        track = body[pos]
        pos += 1
        if multitrack_type == ONE_TRACK:
            end = len(body)
        else:
            need(body, pos, 3, "track size", kind)
            end = pos + 3 + int.from_bytes(body[pos : pos + 3], "big")
            pos += 3
            need(body, pos, end - pos, "track data", kind)
        entries.append((fourcc, track, body[pos:end]))
        pos = end
    return packet_type, entries
