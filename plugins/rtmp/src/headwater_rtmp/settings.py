"""The ``rtmp`` settings section of headwater-rtmp (timeouts and limits come from ``limits``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RTMPSettings(BaseModel):
    """Tuning of RTMP connections; every field has a safe default.

    ``handshake_timeout``, ``publish_idle_timeout``, ``max_message_size`` and
    ``max_connections`` are the server-wide ``limits``.
    """

    model_config = ConfigDict(extra="forbid")

    chunk_size: int = Field(default=60000, ge=128, le=65536)
    """Outgoing chunk size announced with Set Chunk Size (players, push destinations).

    60000, as SRS sends: a frame of a usual stream goes out in one chunk, so a player's turn
    is a header and the FLV body per message, where 4096 (nginx-rtmp's and OBS's size) cut
    a 17 kB video frame into five views and four more headers (a tenth of the RTMP path's
    Python work; ``docs/benchmark-history.md``, eighth sitting)."""
    window_ack_size: int = Field(default=2_500_000, ge=4096)
    """Window Acknowledgement Size and Set Peer Bandwidth announced to clients."""
    max_streams_per_connection: int = Field(default=16, ge=1, le=1024)
    """createStream calls allowed on one connection."""
    read_interval: float = Field(default=0.1, ge=0, le=1)
    """Seconds to let a publisher's small writes gather before the next read (0: read at
    once). Batching reads is most of the server's CPU saving; it adds at most this latency."""
    play_interval: float = Field(default=0.1, ge=0, le=1)
    """Seconds a player's frames gather between writes (0: write each frame at once). One
    write per turn instead of one per frame is most of the play path's CPU saving; it adds
    at most this latency and never limits throughput (each turn sends everything queued)."""
    send_timeout: float = Field(default=15.0, gt=0)
    """Seconds a player or push destination may block our writes before it is dropped."""
    connect_timeout: float = Field(default=10.0, gt=0)
    """Push: seconds to connect, handshake and get ``NetStream.Publish.Start``."""
    multitrack: bool = False
    """Play and push: send tracks beyond the first video and audio as Enhanced RTMP multitrack."""
