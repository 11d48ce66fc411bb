"""Which live HLS resource a request path names (sans-I/O: a string in, a tuple out).

``/{name}/index.m3u8``, ``mono.m3u8`` (and its alias ``video.m3u8``), ``mono-N.ts``;
``index.ll.m3u8``, ``mono.ll.m3u8``, ``ll-init-N.mp4``, ``ll-part-N.m4s``, ``ll-S.m4s``;
each also under ``/{name}/tracks-SEL/``. The stream name is everything between the first
slash and the file (or the ``tracks-`` folder), as Starlette's ``{name:path}`` took it, so
the same paths reach the same streams as the routes they replace.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any, NamedTuple
from urllib.parse import parse_qsl


class Resource(Enum):
    """What an HLS path asks for."""

    MASTER = "master"
    MEDIA = "media"
    SEGMENT = "segment"
    LL_MASTER = "ll-master"
    LL_MEDIA = "ll-media"
    LL_INIT = "ll-init"
    LL_PART = "ll-part"
    LL_SEGMENT = "ll-segment"

    @property
    def low_latency(self) -> bool:
        """Whether this is a resource of the low-latency (fMP4) HLS."""
        return self.value.startswith("ll-")


class HLSPath(NamedTuple):
    """A parsed HLS path: the stream, the ``tracks-`` selection (None: every track), the
    resource and its number (segments, parts, init segments)."""

    name: str
    selection: str | None
    resource: Resource
    number: int | None


_PLAIN = {
    "index.m3u8": Resource.MASTER,
    "mono.m3u8": Resource.MEDIA,
    "video.m3u8": Resource.MEDIA,
    "index.ll.m3u8": Resource.LL_MASTER,
    "mono.ll.m3u8": Resource.LL_MEDIA,
}
_NUMBERED = re.compile(
    r"(?:mono-(?P<segment>[0-9]+)\.ts|ll-init-(?P<init>[0-9]+)\.mp4"
    r"|ll-part-(?P<part>[0-9]+)\.m4s|ll-(?P<llsegment>[0-9]+)\.m4s)\Z"
)
_BY_GROUP = {
    "segment": Resource.SEGMENT,
    "init": Resource.LL_INIT,
    "part": Resource.LL_PART,
    "llsegment": Resource.LL_SEGMENT,
}
SUFFIXES = (".m3u8", ".ts", ".mp4", ".m4s")
"""Every HLS path ends with one of these (a cheap first test)."""
TRACKS_FOLDER = "tracks-"


def parse_hls_path(path: str) -> HLSPath | None:
    """The HLS resource ``path`` names, or None when it is not an HLS path."""
    if not path.endswith(SUFFIXES):
        return None
    folder, _, file = path.rpartition("/")
    if not folder.startswith("/"):
        return None
    resource = _PLAIN.get(file)
    number = None
    if resource is None:
        found = _NUMBERED.match(file)
        if found is None:
            return None
        group = found.lastgroup
        assert group is not None
        resource, number = _BY_GROUP[group], int(found.group(group))
    selection = None
    head, _, last = folder.rpartition("/")
    if head and last.startswith(TRACKS_FOLDER) and len(last) > len(TRACKS_FOLDER):
        selection, folder = last[len(TRACKS_FOLDER) :], head
    return HLSPath(folder[1:].strip("/"), selection, resource, number)


class HLSRequest:
    """An HLS request: its parsed path and what the ASGI scope says of the client."""

    __slots__ = ("path", "scope")

    def __init__(self, path: HLSPath, scope: dict[str, Any]) -> None:
        self.path = path
        self.scope = scope

    @property
    def name(self) -> str:
        """The stream name."""
        return self.path.name

    @property
    def url_path(self) -> str:
        """The path as asked (for refusal reasons)."""
        return str(self.scope["path"])

    @property
    def peer(self) -> tuple[str, int]:
        """The client's address, or ``("", 0)`` when the server does not know it."""
        client = self.scope.get("client")
        return (str(client[0]), int(client[1])) if client else ("", 0)

    @property
    def query(self) -> dict[str, str]:
        """The query arguments (the last value of a repeated one), as Starlette reads them."""
        raw = self.scope.get("query_string", b"")
        return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}
