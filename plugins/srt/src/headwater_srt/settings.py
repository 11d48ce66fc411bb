"""The ``[srt]`` settings section of headwater-srt."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SRTSettings(BaseModel):
    """Tuning of SRT listeners (all optional).

    Per-listener overrides: ``latency`` (ms) in a ``listeners.srt`` entry.
    """

    model_config = ConfigDict(extra="forbid")

    latency: int = Field(default=120, ge=20, le=8000)
    """Receiver latency (TSBPD delay), ms; the larger of this and the caller's wins."""
    peer_idle_timeout: float = Field(default=5.0, gt=0, le=120)
    """A caller that sends nothing for this long is disconnected, seconds."""
    resolve_timeout: float = Field(default=2.0, gt=0, le=10)
    """Timeout of a ``srt_port_resolve`` call to the config backend, seconds (libsrt
    callers give up connecting after 3 s)."""
