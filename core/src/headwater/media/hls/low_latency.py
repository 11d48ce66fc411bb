"""Low-latency HLS media playlists (RFC 8216bis; Apple's "Enabling Low-Latency HLS").

On top of an ordinary live playlist (:mod:`headwater.media.hls.playlist`) a low-latency
playlist says:

- ``EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=…`` (4.4.3.8): the server
  holds a request carrying ``_HLS_msn``/``_HLS_part`` until that part exists (6.2.5.2);
  ``PART-HOLD-BACK`` is how far from the live edge a player starts, at least twice (here
  three times) the part target;
- ``EXT-X-PART-INF:PART-TARGET=…`` (4.4.3.7): the longest a part lasts;
- ``EXT-X-MAP`` (4.4.4.5): the fMP4 init segment of the segments that follow;
- ``EXT-X-PART`` (4.4.4.9) for each part of the newest segments, with ``INDEPENDENT=YES``
  on a part that starts with a keyframe, and the parts of the segment still being cut
  after the last complete one;
- ``EXT-X-PRELOAD-HINT:TYPE=PART`` (4.4.5.3): the URI of the next part, which a player may
  request before it exists (the server answers when it does).
- ``CAN-SKIP-UNTIL`` in ``EXT-X-SERVER-CONTROL`` (4.4.3.8) when the playlist is long
  enough for a Playlist Delta Update (6.2.5.1) to leave something out: six target
  durations, the least the skip boundary may be; a delta update (``_HLS_skip=YES``) then
  replaces the complete segments that end that far or farther from the end of the
  playlist with ``EXT-X-SKIP:SKIPPED-SEGMENTS=N`` (4.4.5.2, version 9).

Pure like the rest of :mod:`headwater.media.hls`: the caller describes the window and gets
the text back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from headwater.media.hls.playlist import (
    Segment,
    format_date_time,
    target_duration,
)

LOW_LATENCY_VERSION = 6
"""``EXT-X-MAP`` in a playlist that is not I-frames only needs version 6 (RFC 8216bis 8);
the low-latency tags need no higher one."""
SKIP_VERSION = 9
"""``EXT-X-SKIP`` needs version 9 (RFC 8216bis 8)."""
SKIP_TARGETS = 6
"""The skip boundary (``CAN-SKIP-UNTIL``) in target durations: the spec's least."""


@dataclass(frozen=True, slots=True)
class Part:
    """One partial segment: its URI, duration in seconds, and whether it starts with a
    keyframe (``INDEPENDENT=YES``)."""

    uri: str
    duration: float
    independent: bool = False


@dataclass(frozen=True, slots=True)
class PartedSegment:
    """A segment of a low-latency playlist.

    :param uri: the whole segment's URI, or None while it is still being cut (then only its
        parts are listed).
    :param duration: seconds (complete segments).
    :param parts: the parts to list (empty for older segments whose parts are no longer
        listed).
    :param map_uri: the init segment its samples need (``EXT-X-MAP`` when it changes).
    """

    uri: str | None
    duration: float
    parts: Sequence[Part]
    map_uri: str
    date_time: float | None = None
    discontinuity: bool = False


@dataclass(frozen=True, slots=True)
class LowLatencyPlaylist:
    """Everything a low-latency media playlist says."""

    segments: Sequence[PartedSegment]
    target: float
    part_target: float
    media_sequence: int
    discontinuity_sequence: int = 0
    preload_hint: str | None = None
    can_skip: bool = False
    """Advertise ``CAN-SKIP-UNTIL`` (six target durations): delta updates are served."""
    skip: bool = False
    """Render a Playlist Delta Update (with ``can_skip``): old segments become ``EXT-X-SKIP``."""


def part_hold_back(part_target: float) -> float:
    """``PART-HOLD-BACK``: three part targets (the spec's minimum is two)."""
    return 3 * part_target


def advance_part_limit(part_target: float) -> int:
    """How many parts past the newest a blocking request may ask for before it is a Bad
    Request (RFC 8216bis 6.2.5.2: three seconds' worth of parts, at least three)."""
    if part_target < 1:
        return max(3, int(3 / part_target))
    return 3


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def skipped_segments(playlist: LowLatencyPlaylist, boundary: float) -> int:
    """How many leading complete segments a delta update leaves out: those that end at
    least ``boundary`` seconds before the end of the playlist."""
    left = sum(s.duration for s in playlist.segments)
    skipped = 0
    for segment in playlist.segments:
        left -= segment.duration
        if segment.uri is None or left < boundary - 1e-9:
            break
        skipped += 1
    return skipped


def render_low_latency_playlist(playlist: LowLatencyPlaylist) -> str:
    """The text of a low-latency media playlist (a delta update when ``skip`` is set and
    something can be left out)."""
    complete = [Segment(s.uri, s.duration) for s in playlist.segments if s.uri is not None]
    target = target_duration(complete, playlist.target)
    hold_back = part_hold_back(playlist.part_target)
    control = f"CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={_seconds(hold_back)}"
    skipped = 0
    if playlist.can_skip:
        boundary = SKIP_TARGETS * target
        control += f",CAN-SKIP-UNTIL={_seconds(boundary)}"
        if playlist.skip:
            skipped = skipped_segments(playlist, boundary)
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{SKIP_VERSION if skipped else LOW_LATENCY_VERSION}",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-SERVER-CONTROL:{control}",
        f"#EXT-X-PART-INF:PART-TARGET={_seconds(playlist.part_target)}",
        f"#EXT-X-MEDIA-SEQUENCE:{playlist.media_sequence}",
    ]
    if playlist.discontinuity_sequence:
        lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{playlist.discontinuity_sequence}")
    lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    if skipped:
        lines.append(f"#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}")
    current_map = None
    for segment in playlist.segments[skipped:]:
        # the first segment's discontinuity is in DISCONTINUITY-SEQUENCE; after a skip the
        # first one listed is not the playlist's first
        if segment.discontinuity and (current_map is not None or skipped):
            lines.append("#EXT-X-DISCONTINUITY")
        if segment.map_uri != current_map:
            lines.append(f'#EXT-X-MAP:URI="{segment.map_uri}"')
            current_map = segment.map_uri
        if segment.date_time is not None:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{format_date_time(segment.date_time)}")
        for part in segment.parts:
            attrs = f'DURATION={_seconds(part.duration)},URI="{part.uri}"'
            if part.independent:
                attrs += ",INDEPENDENT=YES"
            lines.append(f"#EXT-X-PART:{attrs}")
        if segment.uri is not None:
            lines.append(f"#EXTINF:{_seconds(segment.duration)},")
            lines.append(segment.uri)
    if playlist.preload_hint:
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{playlist.preload_hint}"')
    return "\n".join(lines) + "\n"
