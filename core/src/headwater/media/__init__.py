"""headwater.media: the shared, sans-I/O media library (frames, codecs, containers).

Nothing here imports anyio or touches a socket: every function takes bytes and returns
values, so protocol plugins, the DVR and tests all use the same exact code.
"""

from headwater.media.frames import (
    AUDIO_CODECS,
    CLOCK_RATE,
    NAL_CODECS,
    VIDEO_CODECS,
    Codec,
    Frame,
    MediaKind,
    Track,
    kind_of,
)

__all__ = [
    "AUDIO_CODECS",
    "CLOCK_RATE",
    "NAL_CODECS",
    "VIDEO_CODECS",
    "Codec",
    "Frame",
    "MediaKind",
    "Track",
    "kind_of",
]
