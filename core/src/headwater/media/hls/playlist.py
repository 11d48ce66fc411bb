"""HLS playlist writer (RFC 8216): media playlists (live and VOD) and master playlists.

The writer is a pure function of its inputs: the live HLS plugin and the DVR's archive
playback describe their segments with :class:`Segment` and get the text back, so both
follow the same rules:

- ``EXT-X-TARGETDURATION`` is at least every segment's ``EXTINF`` rounded to the nearest
  integer (4.3.3.1), never less than the configured target;
- ``EXT-X-MEDIA-SEQUENCE`` (4.3.3.2) and ``EXT-X-DISCONTINUITY-SEQUENCE`` (4.3.3.3) are
  given by the caller, who must keep them from going backwards (6.2.1);
- ``EXT-X-PROGRAM-DATE-TIME`` (4.3.2.6) goes on every segment that has a wall-clock time,
  in ISO 8601 with milliseconds and ``Z``;
- ``EXT-X-DISCONTINUITY`` (4.3.2.3) before a segment whose timestamps or format restart;
- ``EXT-X-ENDLIST`` (4.3.3.4) and ``EXT-X-PLAYLIST-TYPE:VOD`` (4.3.3.5) for a finished range;
- master playlists (4.3.4.2) with ``BANDWIDTH``, ``AVERAGE-BANDWIDTH``, ``CODECS``,
  ``RESOLUTION`` and ``FRAME-RATE``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

VERSION = 3
"""Protocol version: floating-point ``EXTINF`` needs 3 (7); nothing here needs more."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One media segment of a media playlist.

    :param uri: the segment's URI, relative to the playlist or absolute.
    :param duration: its duration in seconds (``EXTINF``).
    :param date_time: wall-clock time (POSIX seconds) of its first sample, or None.
    :param discontinuity: True when it does not continue the previous segment.
    """

    uri: str
    duration: float
    date_time: float | None = None
    discontinuity: bool = False


@dataclass(frozen=True, slots=True)
class MediaPlaylist:
    """Everything a media playlist says.

    :param segments: the segments in order; the first has number ``media_sequence``.
    :param target: the configured segment duration in seconds (the floor of the target).
    :param media_sequence: number of the first segment.
    :param discontinuity_sequence: discontinuities before the first segment, ever.
    :param ended: no more segments will be added (``EXT-X-ENDLIST``).
    :param playlist_type: ``"VOD"``, ``"EVENT"`` or None for a sliding live window.
    """

    segments: Sequence[Segment]
    target: float = 2.0
    media_sequence: int = 0
    discontinuity_sequence: int = 0
    ended: bool = False
    playlist_type: str | None = None
    independent_segments: bool = True


@dataclass(frozen=True, slots=True)
class Variant:
    """One ``EXT-X-STREAM-INF`` entry of a master playlist.

    :param uri: the media playlist's URI.
    :param bandwidth: peak bits per second of the variant (required by 4.3.4.2).
    :param codecs: the RFC 6381 list, e.g. ``avc1.64001f,mp4a.40.2`` (see ``codecs.py``).
    """

    uri: str
    bandwidth: int
    average_bandwidth: int | None = None
    codecs: str = ""
    resolution: tuple[int, int] | None = None
    frame_rate: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


def format_date_time(posix: float) -> str:
    """``2026-11-29T10:00:00.040Z``: ISO 8601 with milliseconds, as 4.3.2.6 wants."""
    stamp = datetime.fromtimestamp(posix, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _rounded(seconds: float) -> int:
    """Round half up, as a player computing "rounded to the nearest integer" would."""
    return math.floor(seconds + 0.5)


def target_duration(segments: Iterable[Segment], target: float) -> int:
    """``EXT-X-TARGETDURATION``: max of the configured target and every rounded EXTINF."""
    longest = max((_rounded(s.duration) for s in segments), default=0)
    return max(1, math.ceil(target - 1e-9), longest)


def _duration(seconds: float) -> str:
    """EXTINF value: three decimals, trailing zeros kept (players parse it as a float)."""
    return f"{seconds:.3f}"


def render_media_playlist(playlist: MediaPlaylist) -> str:
    """The text of a media playlist (4.3.3 tags first, then each segment's tags and URI)."""
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{target_duration(playlist.segments, playlist.target)}",
        f"#EXT-X-MEDIA-SEQUENCE:{playlist.media_sequence}",
    ]
    if playlist.discontinuity_sequence:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{playlist.discontinuity_sequence}")
    if playlist.playlist_type:
        lines.append(f"#EXT-X-PLAYLIST-TYPE:{playlist.playlist_type}")
    if playlist.independent_segments:
        lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    for segment in playlist.segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        if segment.date_time is not None:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{format_date_time(segment.date_time)}")
        lines.append(f"#EXTINF:{_duration(segment.duration)},")
        lines.append(segment.uri)
    if playlist.ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _quoted(value: str) -> str:
    if '"' in value or "\n" in value or "\r" in value:
        raise ValueError(f"a quoted-string attribute cannot hold {value!r} (RFC 8216 4.2)")
    return f'"{value}"'


def render_master_playlist(
    variants: Sequence[Variant], *, independent_segments: bool = True
) -> str:
    """The text of a master playlist: one ``EXT-X-STREAM-INF`` + URI line per variant."""
    if not variants:
        raise ValueError("a master playlist needs at least one variant")
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{VERSION}"]
    if independent_segments:
        lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    for variant in variants:
        attrs = [f"BANDWIDTH={max(1, int(variant.bandwidth))}"]
        if variant.average_bandwidth:
            attrs.append(f"AVERAGE-BANDWIDTH={int(variant.average_bandwidth)}")
        if variant.codecs:
            attrs.append(f"CODECS={_quoted(variant.codecs)}")
        if variant.resolution:
            attrs.append(f"RESOLUTION={variant.resolution[0]}x{variant.resolution[1]}")
        if variant.frame_rate:
            attrs.append(f"FRAME-RATE={variant.frame_rate:.3f}")
        attrs.extend(f"{key}={value}" for key, value in variant.extra.items())
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(variant.uri)
    return "\n".join(lines) + "\n"
