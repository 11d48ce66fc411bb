"""The ``[hls]`` settings section of headwater-hls."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class HLSSettings(BaseModel):
    """Live HLS tuning; every field has a safe default (Flussonic's names where it has one)."""

    model_config = ConfigDict(extra="forbid")

    segment_duration: float = Field(default=2.0, ge=0.5, le=60)
    """Target segment duration, seconds; segments are cut at the first keyframe past it."""
    segment_count: int = Field(default=4, ge=2, le=100)
    """Segments listed in the live playlist (one more is kept for late clients)."""
    hls_idle: float = Field(default=60.0, gt=0, le=3600)
    """Seconds without a request after which a stream's HLS stops and frees its memory."""
    max_segment_bytes: int = Field(default=64 << 20, ge=1 << 20)
    """A segment growing past this (a publisher that sends no keyframes) is thrown away and
    cutting restarts at the next keyframe; it bounds the memory one stream's HLS can take."""
    playlist_wait: float = Field(default=10.0, gt=0, le=120)
    """How long a playlist request for a stream just started waits for its first segment."""
    part_duration: float = Field(default=0.5, ge=0.1, le=5)
    """Low-latency HLS: target duration of a part (``PART-TARGET``), seconds; shorter than
    ``segment_duration``."""

    @model_validator(mode="after")
    def _parts_fit_in_segments(self) -> HLSSettings:
        if self.part_duration >= self.segment_duration:
            raise ValueError(
                f"hls.part_duration ({self.part_duration:g}) must be shorter than "
                f"hls.segment_duration ({self.segment_duration:g})"
            )
        return self
