"""The HLS variants of one stream, each run on its own: which window cuts which tracks.

A stream can be watched as several HLS at once, each with its own subscription and
segment window, started by its first request and stopped after ``hls_idle``:

- ``""``: MPEG-TS segments of every track (``/{name}/index.m3u8``, ``mono.m3u8``);
- ``"tracks-v1a1"``: MPEG-TS segments of the selected tracks only
  (``/{name}/tracks-v1a1/mono.m3u8``, see :mod:`headwater_hls.tracks`);
- ``"ll"``: low-latency HLS, fMP4 parts and segments (``/{name}/index.ll.m3u8``, see
  :mod:`headwater_hls.part_window`), and ``"ll/tracks-v1a1"`` of selected tracks.

A variant string is made by :func:`variant_of` and turned into a window by
:func:`make_window`; the hub keys its running HLS by ``(name, variant)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from headwater.media.frames import Frame, Track
from headwater_hls.part_window import PartWindow
from headwater_hls.settings import HLSSettings
from headwater_hls.tracks import SelectedWindow, TrackSelection
from headwater_hls.window import SegmentWindow

TRACKS_PREFIX = "tracks-"
LOW_LATENCY = "ll"


class Window(Protocol):
    """What the live HLS needs of a window (:class:`SegmentWindow`, :class:`PartWindow`
    and their :class:`SelectedWindow` wrappers)."""

    segments: Any
    next_sequence: int
    discontinuity_base: int
    discontinuities: int

    def start_publication(self, tracks: Sequence[Track], now: float, latest_dts: int) -> None:
        """A publication begins."""

    def feed(self, frame: Frame) -> Any:
        """Take a frame; return something not None when a new segment or part is ready."""

    def feed_many(self, frames: Sequence[Frame]) -> bool:
        """Take many frames at once; True when a new segment or part is ready."""

    def end_publication(self) -> Any:
        """The publication ended; return something not None when that closed a segment."""

    def seconds_to_cut(self) -> float:
        """Seconds of media until the open segment may close (0: at any next frame)."""


def variant_of(selection: TrackSelection | None, *, low_latency: bool = False) -> str:
    """The variant string of a track selection (None: every track), MPEG-TS or
    low-latency."""
    parts = [LOW_LATENCY] if low_latency else []
    if selection is not None:
        parts.append(TRACKS_PREFIX + selection.key)
    return "/".join(parts)


def is_low_latency(variant: str) -> bool:
    """Whether ``variant`` is a low-latency (fMP4 parts) HLS."""
    return variant.split("/")[0] == LOW_LATENCY


def selection_of(variant: str) -> TrackSelection | None:
    """The track selection of a variant string, or None for every track."""
    last = variant.split("/")[-1]
    if not last.startswith(TRACKS_PREFIX):
        return None
    return TrackSelection.parse(last[len(TRACKS_PREFIX) :])


def make_window(variant: str, settings: HLSSettings, sequence: int, discontinuity: int) -> Window:
    """A fresh window for ``variant`` with the given first numbers."""
    window: Window
    if is_low_latency(variant):
        window = PartWindow(
            target=settings.segment_duration,
            part_target=settings.part_duration,
            count=settings.segment_count,
            sequence=sequence,
            discontinuity=discontinuity,
            max_segment_bytes=settings.max_segment_bytes,
        )
    else:
        window = SegmentWindow(
            target=settings.segment_duration,
            count=settings.segment_count,
            sequence=sequence,
            discontinuity=discontinuity,
            max_segment_bytes=settings.max_segment_bytes,
        )
    selection = selection_of(variant)
    if selection is not None:
        window = SelectedWindow(window, selection)
    return window
