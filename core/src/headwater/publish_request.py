"""What a protocol plugin knows about an incoming publication before it has a name."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class PublishRequest:
    """An incoming publication, as the protocol plugin saw it.

    ``path`` is the name as the protocol spells it before resolution (RTMP: application and
    stream name already joined with ``/``; RTSP: the URL path; HTTP: the path before
    ``/mpegts``; SRT: empty unless the stream id named it). ``args`` are the query
    arguments (``password`` among them). ``resolve_name`` implementations turn this into a
    stream name; ``name`` is filled in by the core once resolved.
    """

    proto: str
    path: str = ""
    args: dict[str, str] = field(default_factory=dict)
    peer: tuple[str, int] = ("", 0)
    local_port: int = 0
    stream_id: str | None = None
    name: str | None = None
    location: str = ""
    """Filled by the core after matching: the static stream's name or the template prefix."""

    @property
    def ip(self) -> str:
        """The publisher's IP address."""
        return self.peer[0]
