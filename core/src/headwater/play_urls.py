"""Where a stream can be watched: the ``play_urls`` hook's types and the one call site.

Each protocol plugin knows its own listeners and URL shapes, so the core asks them through
the ``play_urls`` hook and shows the answers in ``GET /streamer/api/v3/streams/{name}`` and
on the web page. A third-party protocol plugin appears there without touching the core.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from headwater.hookcall import call_all

if TYPE_CHECKING:
    from headwater.server import Server
    from headwater.stream import Stream

UNSPECIFIED_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})


def _host_for_url(host: str) -> str:
    """Bracket an IPv6 literal for use in a URL authority (RFC 3986 3.2.2)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True, slots=True)
class PlayBase:
    """How the asking client reaches this server, so URLs use the name it already knows.

    :param host: the host part of the request's ``Host`` header (``example.com``,
        ``127.0.0.1``, an IPv6 literal without brackets).
    :param http: the scheme and authority the request came in on (``http://example.com:8080``),
        the base of every HTTP URL.
    """

    host: str
    http: str

    @classmethod
    def from_url(cls, url: str) -> PlayBase:
        """The base of a request URL such as ``http://example.com:8080/streamer/...``."""
        scheme, _, rest = url.partition("://")
        authority = rest.split("/", 1)[0]
        host = authority
        if authority.startswith("["):
            host = authority[1 : authority.index("]")]
        elif ":" in authority:
            host = authority.rsplit(":", 1)[0]
        return cls(host=host, http=f"{scheme}://{authority}")

    def url(self, scheme: str, port: int, path: str, *, default_port: int | None = None) -> str:
        """``scheme://host[:port]/path`` on this base's host (the port left out when default)."""
        authority = _host_for_url(self.host)
        if port != default_port:
            authority += f":{port}"
        return f"{scheme}://{authority}/{path.lstrip('/')}"

    def http_url(self, path: str) -> str:
        """A URL on the HTTP listener the request came in on."""
        return f"{self.http}/{path.lstrip('/')}"


@dataclass(frozen=True, slots=True)
class PlayURL:
    """One way to watch a stream.

    :param proto: the protocol, as the plugins name it (``rtmp``, ``hls``, ``mpegts``...).
    :param url: the full URL a player opens.
    :param label: a short human description for the web page (``HLS (any browser)``).
    """

    proto: str
    url: str
    label: str

    def describe(self) -> dict[str, Any]:
        """What the API shows (``proto``, ``url``, ``label``)."""
        return asdict(self)


async def play_urls(server: Server, stream: Stream, base: PlayBase) -> list[PlayURL]:
    """Every plugin's play URLs for ``stream``, concatenated in plugin order."""
    out: list[PlayURL] = []
    for result in await call_all(server.pm.hook.play_urls, server=server, stream=stream, base=base):
        out.extend(result)
    return out
