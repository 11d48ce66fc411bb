"""Helpers shared by the MPEG-TS tests: demux a whole file, group and compare frames."""

from __future__ import annotations

from collections import defaultdict

from headwater.media.frames import Codec, Frame
from headwater.media.mpegts import TracksChanged, TSReader

# (video, audio) pairs the sans-I/O tests run against; clips are 2 s, 160x120.
CODEC_PAIRS = [
    ("h264", "aac"),
    ("h265", "mp3"),
    ("h264", "ac3"),
    ("h264", "opus"),
    ("h264", "mp2"),
    (None, "aac"),
]


def feed_all(reader, data: bytes, chunks: list[int] | None = None) -> list:
    """Feed ``data`` to ``reader`` whole or cut at ``chunks`` sizes (cycling), flush;
    return the events."""
    events: list = []
    if chunks is None:
        events += reader.feed(data)
    else:
        pos = i = 0
        while pos < len(data):
            size = chunks[i % len(chunks)]
            events += reader.feed(data[pos : pos + size])
            pos, i = pos + size, i + 1
    events += reader.flush()
    return events


def demux(data: bytes, chunks: list[int] | None = None) -> tuple[TSReader, list]:
    """Feed ``data`` whole or cut at ``chunks`` sizes (cycling), flush; return reader, events."""
    reader = TSReader()
    return reader, feed_all(reader, data, chunks)


def frames_by_track(events: list) -> dict[int, list[Frame]]:
    """The frames of ``events`` grouped by track id, each list in stream order."""
    out: dict[int, list[Frame]] = defaultdict(list)
    for e in events:
        if not isinstance(e, TracksChanged):
            out[e.track.id].append(e)
    return dict(out)


def frame_key(f: Frame) -> tuple:
    """Everything that identifies a frame's content and timing."""
    return (f.track.id, f.pts, f.dts, f.keyframe, bytes(f.data), tuple(f.nalus))


def es_size(f: Frame) -> int:
    """The size ffmpeg's demuxer reports for the same packet (ADTS header included for AAC)."""
    if f.nalus:
        return f.size
    return len(f.data) + (7 if f.track.codec is Codec.AAC else 0)


def generated_packets(data: bytes, headers: list[tuple]) -> bytes:
    """``data``'s first 30 packets (its PAT/PMT), then one packet per ``(pid, flags, byte 3,
    4 noise bytes)`` of ``headers`` with a body copied from ``data``'s packets: pid 0x100
    and 0x101 stand for the first and last track's PID; a None byte 3 is a plain
    continuation with that PID's next counter, so runs form."""
    pids = sorted(t.id for t in TSReader().feed(data)[0].tracks)
    body = [data[i + 4 : i + 188] for i in range(0, 188 * 60, 188)]
    out = bytearray(data[: 188 * 30])
    counters: dict[int, int] = {}
    for n, (pid, flags, low, noise) in enumerate(headers):
        pid = {0x100: pids[0], 0x101: pids[-1]}.get(pid, pid)
        if low is None:
            low = 0x10 | counters.get(pid, 0)
        counters[pid] = (low + 1) & 15
        out += bytes((0x47, flags << 5 | pid >> 8, pid & 0xFF, low)) + noise + body[n % 60][4:]
    return bytes(out)


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    """``data`` cut into pieces of ``sizes``, the sizes repeated until it is used up (how a
    client's writes or a server's reads may cut a body)."""
    out, pos, i = [], 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        out.append(data[pos : pos + size])
        pos += size
        i += 1
    return out
