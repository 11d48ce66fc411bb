"""The SRT stream id as a publish request (Haivision/srt ``docs/features/access-control.md``,
draft-sharabayko-srt Appendix B "SRT Access Control").

Accepted forms:

- ``#!::r=NAME,m=publish`` (the access-control syntax; ``u=`` names the user and is the
  name when ``r`` is absent; other keys such as ``password`` become arguments);
- ``publish:NAME`` (Flussonic's and MediaMTX's short form);
- a bare ``NAME``, optionally with ``?key=value&...`` arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

PUBLISH_MODES = frozenset({"publish"})
"""Values of ``m`` (the mode key) that mean the caller sends."""


class StreamIdError(ValueError):
    """The stream id does not follow any accepted form."""


@dataclass(slots=True)
class StreamId:
    """What a stream id asks for: a name, a mode and arguments."""

    name: str = ""
    mode: str = "publish"
    user: str | None = None
    args: dict[str, str] = field(default_factory=dict)


_KEYS = {"r": "name", "m": "mode", "u": "user"}


def parse_stream_id(text: str | None) -> StreamId:
    """Parse a stream id (None or empty gives an empty name: the port names the stream).

    :raises StreamIdError: for a malformed ``#!::`` list or an unknown syntax.
    """
    if not text:
        return StreamId()
    if text.startswith("#!"):
        return _parse_access_control(text)
    if text.startswith("publish:"):
        return _with_query(text[len("publish:") :], "publish")
    for mode in ("play:", "read:", "request:"):
        if text.startswith(mode):
            return _with_query(text[len(mode) :], "request")
    return _with_query(text, "publish")


def _with_query(text: str, mode: str) -> StreamId:
    name, _, query = text.partition("?")
    return StreamId(name=name.strip("/"), mode=mode, args=dict(parse_qsl(query)))


def _parse_access_control(text: str) -> StreamId:
    if not text.startswith("#!::"):
        raise StreamIdError(f"unsupported stream id syntax {text[:8]!r}")
    body = text[4:]
    if body.startswith("{"):
        raise StreamIdError("nested stream id blocks are not supported")
    sid = StreamId()
    for item in body.split(","):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise StreamIdError(f"stream id item {item!r} is not key=value")
        if key == "r":
            sid.name = value.strip("/")
        elif key == "m":
            sid.mode = value
        elif key == "u":
            sid.user = value
            sid.args["user"] = value
        else:
            sid.args[key] = value
    if not sid.name and sid.user:
        sid.name = sid.user.strip("/")
    return sid
