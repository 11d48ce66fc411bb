"""HLS (RFC 8216) for headwater: playlist writing and RFC 6381 ``CODECS`` strings.

Pure and sans-I/O like the rest of :mod:`headwater.media`: the live HLS plugin and the DVR's
archive playback both render their playlists here, so they cannot disagree on the format.
"""

from headwater.media.hls.codecs import codec_string, codecs_attribute, resolution_of
from headwater.media.hls.low_latency import (
    SKIP_TARGETS,
    LowLatencyPlaylist,
    Part,
    PartedSegment,
    advance_part_limit,
    part_hold_back,
    render_low_latency_playlist,
    skipped_segments,
)
from headwater.media.hls.playlist import (
    MediaPlaylist,
    Segment,
    Variant,
    format_date_time,
    render_master_playlist,
    render_media_playlist,
    target_duration,
)

__all__ = [
    "SKIP_TARGETS",
    "LowLatencyPlaylist",
    "MediaPlaylist",
    "Part",
    "PartedSegment",
    "Segment",
    "Variant",
    "advance_part_limit",
    "codec_string",
    "codecs_attribute",
    "format_date_time",
    "part_hold_back",
    "render_low_latency_playlist",
    "render_master_playlist",
    "render_media_playlist",
    "resolution_of",
    "skipped_segments",
    "target_duration",
]
