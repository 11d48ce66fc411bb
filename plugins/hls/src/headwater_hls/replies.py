"""The HTTP answers of live HLS as raw ASGI messages: MIME types, caching and CORS headers.

Everything here is built once where it can be: the header lists of playlists and
refusals are constants, a segment's lifetime header is made once per running HLS, and a
body is sent as the object(s) the window holds (no copy, no per-request
rendering). HEAD gets the same head without the body (uvicorn drops it).
"""

from __future__ import annotations

from typing import Any, NamedTuple

PLAYLIST_TYPE = b"application/vnd.apple.mpegurl"
SEGMENT_TYPE = b"video/mp2t"
MP4_TYPE = b"video/mp4"
TEXT_TYPE = b"text/plain; charset=utf-8"
CORS = (b"access-control-allow-origin", b"*")
NO_CACHE = (b"cache-control", b"no-cache")

Headers = list[tuple[bytes, bytes]]

PLAYLIST_HEADERS: Headers = [(b"content-type", PLAYLIST_TYPE), CORS, NO_CACHE]
REFUSAL_HEADERS: Headers = [(b"content-type", TEXT_TYPE), CORS, NO_CACHE]


Body = bytes | tuple[bytes | memoryview, ...]
"""A body in one piece, or in pieces sent one after the other (a live segment's)."""


class Reply(NamedTuple):
    """One complete answer: status, headers (without ``content-length``) and body."""

    status: int
    headers: Headers
    body: Body


def refuse(status: int, reason: str) -> Reply:
    """A refusal with its one-line reason (and the CORS header, so a web player sees it)."""
    return Reply(status, REFUSAL_HEADERS, (reason + "\n").encode())


def playlist(body: bytes) -> Reply:
    """A playlist (``no-cache``)."""
    return Reply(200, PLAYLIST_HEADERS, body)


def media_headers(content_type: bytes, lifetime: float) -> Headers:
    """Headers of a segment, part or init segment: cacheable for ``lifetime`` seconds (as
    long as it can be listed), at least one."""
    age = max(int(lifetime), 1)
    return [(b"content-type", content_type), CORS, (b"cache-control", b"public, max-age=%d" % age)]


async def send_reply(send: Any, reply: Reply) -> None:
    """Send ``reply``: the head, then the body in one message, or one per piece (each the
    object held, no copy: uvicorn hands it to the transport as it is)."""
    status, headers, body = reply
    pieces = body if isinstance(body, tuple) else (body,)
    length = sum(len(piece) for piece in pieces)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", b"%d" % length), *headers],
        }
    )
    for piece in pieces[:-1]:
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": pieces[-1] if pieces else b""})
