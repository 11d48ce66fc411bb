"""The ``mpegts`` settings section of headwater-mpegts (limits come from ``limits``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MpegtsSettings(BaseModel):
    """Tuning of HTTP MPEG-TS publishing; every field has a safe default."""

    model_config = ConfigDict(extra="forbid")

    read_interval: float = Field(default=0.1, ge=0, le=1)
    """Seconds an HTTP publisher's body gathers between two reads (0: read at once). After a
    read smaller than :data:`~headwater_mpegts.ts_sink.SINK_BATCH_BYTES` the connection stops
    reading until the next tick of one timer all HTTP publishers share, this far apart
    (under another ASGI server: after a read smaller than
    :data:`~headwater_mpegts.http_publish.BATCH_BYTES`, a pause this long), so that one read,
    one parse pass and one demuxer feed serve several of the client's chunks (ffmpeg sends
    one per muxed frame). Adds at most this latency (the bound ``[rtmp] read_interval`` sets)
    and never limits throughput: a bigger read is followed by the next one at once."""
