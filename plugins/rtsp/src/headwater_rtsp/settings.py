"""The ``rtsp`` settings section of headwater-rtsp."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RTSPSettings(BaseModel):
    """Tuning of RTSP sessions; every field has a safe default.

    UDP: each RTSP listener receives and sends RTP and RTCP on one shared pair of UDP ports
    (``rtp_port``, ``rtcp_port``), sessions told apart by the client's address. A listener
    on port 0 (tests) takes an ephemeral pair. ``listeners.rtsp`` entries may override the
    pair with their own ``rtp_port``/``rtcp_port`` keys.
    """

    model_config = ConfigDict(extra="forbid")

    udp: bool = True
    """Offer UDP transport; when false, UDP offers get 461 and clients fall back to TCP."""
    rtp_port: int = Field(default=8000, ge=0, le=65535)
    """UDP port for RTP (0: ephemeral)."""
    rtcp_port: int = Field(default=8001, ge=0, le=65535)
    """UDP port for RTCP (0: ephemeral)."""
    udp_receive_buffer: int = Field(default=4 << 20, ge=65536, le=1 << 30)
    """SO_RCVBUF of the UDP sockets (bytes): room for bursts of keyframes."""
    reorder_packets: int = Field(default=64, ge=1, le=4096)
    """UDP packets held while waiting for a late one before it is counted lost."""
    reorder_wait: float = Field(default=0.5, gt=0, le=10)
    """Seconds a gap in a UDP stream is waited for before its packets count as lost."""
    read_timeout: float = Field(default=10.0, gt=0)
    """A publishing session with no RTP or RTCP for this many seconds is closed."""
    session_timeout: int = Field(default=60, ge=5, le=3600)
    """Seconds announced in ``Session: ID;timeout=N``; a UDP player that sends neither a
    request nor RTCP for this long is closed."""
    auth: Literal["basic", "digest"] = "basic"
    """The challenge of a 401: Basic (what every client answers), or Digest (MD5). Basic
    credentials are accepted either way."""
    read_interval: float = Field(default=0.1, ge=0, le=1)
    """Seconds to let a TCP publisher's small writes gather before the next read (0: read
    at once). One read per turn instead of one per RTP packet is most of the CPU saving
    of TCP ingest; it adds at most this latency."""
    send_timeout: float = Field(default=15.0, gt=0)
    """Seconds a TCP player may block our writes before it is dropped."""
    play_interval: float = Field(default=0.05, ge=0, le=1)
    """Seconds a player's frames gather between writes (0: write each frame at once)."""
    describe_wait: float = Field(default=2.0, ge=0, le=30)
    """Seconds DESCRIBE waits for a just-started stream's tracks to be known."""
    max_header_bytes: int = Field(default=16 << 10, ge=1024, le=1 << 20)
    """Longest request line plus headers."""
    max_body_bytes: int = Field(default=64 << 10, ge=1024, le=16 << 20)
    """Longest request body (an SDP)."""

    @model_validator(mode="after")
    def _pair(self) -> RTSPSettings:
        if (self.rtp_port == 0) != (self.rtcp_port == 0):
            raise ValueError("rtp_port and rtcp_port are both 0 (ephemeral) or both set")
        if self.rtp_port and self.rtp_port == self.rtcp_port:
            raise ValueError("rtp_port and rtcp_port must differ")
        return self
