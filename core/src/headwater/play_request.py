"""What a protocol plugin knows about a player before the core hands it a stream."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class PlayRequest:
    """A player asking to watch a stream, as the protocol plugin saw it.

    ``proto`` names the protocol (``rtmp``, ``rtsp``, ``hls``, ``mpegts``, ``dvr``, ...);
    ``name`` is the stream name exactly as the client asked for it (the core validates it
    before looking it up); ``args`` are the query arguments.
    """

    proto: str
    name: str
    peer: tuple[str, int] = ("", 0)
    args: dict[str, str] = field(default_factory=dict)

    @property
    def ip(self) -> str:
        """The player's IP address."""
        return self.peer[0]

    @property
    def who(self) -> str:
        """How the player's subscription is named in the stats and the log."""
        host, port = self.peer
        return f"{self.proto}-play {host}:{port}" if host else f"{self.proto}-play"
