"""The audio and video tags of a cached FLV clip, looped to any duration.

RTMP publishers send FLV tag bodies as messages. The cached clip is short (10 s), so a
longer run loops it: each pass shifts the timestamps by the clip's length and leaves out
the sequence headers (AVC decoder configuration, AAC AudioSpecificConfig), which a real
encoder sends once, at the start (FLV v10.1 E.4.2.1 and E.4.3.1 packet types).
"""

from __future__ import annotations

from pathlib import Path

from headwater.media.flv import AUDIO, VIDEO, FlvReader, FlvTag

AAC = 10
"""SoundFormat of AAC (FLV E.4.2.1)."""


def media_tags(path: Path) -> list[FlvTag]:
    """The audio and video tags of an FLV file, timestamps made to start at 0.

    An empty AAC sequence header is left out: ffmpeg's FLV muxer writes one (``af 00``)
    before the real one when it remuxes ADTS audio, and the RTMP server refuses it.
    """
    items = FlvReader().feed(path.read_bytes())
    tags = [
        t
        for t in items
        if isinstance(t, FlvTag)
        and t.kind in (AUDIO, VIDEO)
        and not (is_sequence_header(t) and len(t.data) <= 2)
    ]
    first = min(t.timestamp for t in tags)
    return [FlvTag(t.kind, t.timestamp - first, t.data) for t in tags]


def is_sequence_header(tag: FlvTag) -> bool:
    """A legacy AVC sequence header or an AAC AudioSpecificConfig tag."""
    data = tag.data
    if len(data) < 2:
        return False
    if tag.kind == VIDEO:
        return data[0] & 0x0F == 7 and data[1] == 0
    return data[0] >> 4 == AAC and data[1] == 0


def looped(tags: list[FlvTag], seconds: float) -> list[FlvTag]:
    """``tags`` repeated until ``seconds`` are covered, timestamps continuing (ms)."""
    video = [t.timestamp for t in tags if t.kind == VIDEO]
    frame = (video[-1] - video[0]) / max(len(video) - 1, 1)
    period = round(max(t.timestamp for t in tags) + frame) or 1
    media = [t for t in tags if not is_sequence_header(t)]
    out = list(tags)
    offset = period
    while offset < seconds * 1000:
        out += [FlvTag(t.kind, t.timestamp + offset, t.data) for t in media]
        offset += period
    return [t for t in out if t.timestamp <= seconds * 1000]
