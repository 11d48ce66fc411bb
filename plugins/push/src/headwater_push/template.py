"""Push URL templates: ``%s`` becomes the full stream name."""

from __future__ import annotations

from urllib.parse import urlsplit

MULTICAST_SCHEMES = frozenset({"udp", "rtp", "udp4", "udp6"})
"""Schemes that send to one fixed address: on a prefix every stream would land there."""


def expand(url: str, name: str) -> str:
    """Replace every ``%s`` in ``url`` with the stream name (``%%`` stays a literal ``%``)."""
    out = []
    i = 0
    while i < len(url):
        if url.startswith("%%", i):
            out.append("%")
            i += 2
        elif url.startswith("%s", i):
            out.append(name)
            i += 2
        else:
            out.append(url[i])
            i += 1
    return "".join(out)


def scheme(url: str) -> str:
    """The lower-case scheme of a URL (``rtmp``, ``udp``...)."""
    return urlsplit(url).scheme.lower()


def redact(url: str) -> str:
    """The URL without credentials or query (for logs)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"
