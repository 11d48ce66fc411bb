"""RTSP URLs → stream names (the full path is the name) and track suffixes.

``rtsp://host:8554/chats/my/chat-15?password=x`` names ``chats/my/chat-15`` with the query
arguments ``{"password": "x"}``; a trailing ``/trackID=1``, ``/streamid=1`` or ``/track1``
names a track of that stream (RFC 2326 C.1.1 leaves the control URL syntax to the server;
these are the spellings ffmpeg, GStreamer, VLC and cameras use).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

TRACK_SUFFIX = re.compile(r"^(?:trackid|streamid|track)=?(\d{1,3})$", re.IGNORECASE)


def split_url(url: str) -> tuple[str, dict[str, str], int | None]:
    """(stream path, query arguments, track number or None) of a request URL."""
    parts = urlsplit(url)
    path = unquote(parts.path).strip("/")
    track = None
    head, _, last = path.rpartition("/")
    found = TRACK_SUFFIX.match(last)
    if found:
        path, track = head, int(found.group(1))
    args = dict(parse_qsl(parts.query, keep_blank_values=True))
    return path, args, track


def url_path(url: str) -> str:
    """The path of a URL without slashes at either end (``*`` and paths pass through)."""
    if "://" not in url:
        return unquote(url.split("?", 1)[0]).strip("/")
    return unquote(urlsplit(url).path).strip("/")
