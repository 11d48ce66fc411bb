"""The hello line protocol, sans-I/O: bytes in, lines and commands out.

A client sends one command line, ``PUBLISH <path>[?query]`` or ``PLAY <name>``, ended by
``\\n``. After ``PUBLISH``, every further line is one frame of the stream; after ``PLAY``,
the server sends every frame of the stream as one line. The server answers the command
with ``OK <name>`` or ``ERROR <reason>``. No socket or anyio here, so it is tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from headwater import ProtocolError


class LineReader:
    """Splits received bytes into lines; a line longer than ``max_line`` is an error."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Take received bytes, return the complete lines (without ``\\n`` or ``\\r``)."""
        self._buffer += data
        lines = []
        start = 0
        while (end := self._buffer.find(b"\n", start)) != -1:
            lines.append(bytes(self._buffer[start:end]).rstrip(b"\r"))
            start = end + 1
        del self._buffer[:start]
        if len(self._buffer) > self.max_line or any(len(n) > self.max_line for n in lines):
            raise ProtocolError(f"line longer than {self.max_line} bytes")
        return lines


@dataclass(frozen=True, slots=True)
class Command:
    """The first line of a connection."""

    verb: str
    """``PUBLISH`` or ``PLAY``."""
    path: str
    args: dict[str, str] = field(default_factory=dict)


def parse_command(line: bytes) -> Command:
    """Parse ``PUBLISH live/cam1?password=x`` or ``PLAY live/cam1``; else ProtocolError."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("the command line is not ASCII") from None
    verb, _, target = text.strip().partition(" ")
    if verb not in ("PUBLISH", "PLAY") or not target:
        raise ProtocolError(f"expected PUBLISH <path> or PLAY <name>, got {text[:40]!r}")
    parts = urlsplit(target)
    return Command(verb, parts.path, dict(parse_qsl(parts.query)))
