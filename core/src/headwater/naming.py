"""Stream names: the rules a name must follow, and which stream or template accepts it.

A name uses Latin letters, digits and ``_ - . /``; it has no empty segment, no ``.`` or
``..`` segment, no leading ``/`` and at most 255 bytes. A name that passes
:func:`validate_name` is safe to join under a directory. Names are matched first against
static streams (exactly), then against template prefixes as whole path components, first
match wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from headwater.config.models import StreamSettings
from headwater.errors import PublishRejected, Refusal
from headwater.log_text import shown

MAX_NAME_BYTES = 255
_ALLOWED = re.compile(r"[A-Za-z0-9_.\-/]+")


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid stream name, or None when it is."""
    if not name:
        return "the stream name is empty"
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return f"the stream name is {size} bytes long, longer than {MAX_NAME_BYTES} bytes"
    if not _ALLOWED.fullmatch(name):
        bad = sorted({c for c in name if not _ALLOWED.fullmatch(c)})
        shown = "".join(bad)[:10]
        return f"the stream name has characters other than letters, digits and _-./: {shown!r}"
    if name.startswith("/"):
        return "the stream name starts with '/'"
    for segment in name.split("/"):
        if segment == "":
            return "the stream name has an empty path segment"
        if segment in (".", ".."):
            return f"the stream name has a {segment!r} path segment"
    return None


def validate_name(name: str) -> str:
    """Return ``name`` if valid, else raise ``PublishRejected(BAD_NAME)`` with the reason."""
    problem = name_problem(name)
    if problem:
        raise PublishRejected(Refusal.BAD_NAME, f"{problem}: {shown(name, 80)}")
    return name


def prefix_matches(prefix: str, name: str) -> bool:
    """True when ``prefix`` is a whole-component prefix of ``name`` (``chats`` ~ ``chats/a``)."""
    prefix = prefix.strip("/")
    if not prefix:
        return True
    return name.startswith(prefix) and (len(name) > len(prefix) and name[len(prefix)] == "/")


@dataclass(frozen=True, slots=True)
class Match:
    """Which configured entry accepted a name: a static stream or a template prefix."""

    settings: StreamSettings
    location: str
    """The static stream's name, or the matched prefix (``on_publish`` calls it location)."""
    static: bool


def match_name(
    name: str, streams: Iterable[StreamSettings], templates: Iterable[StreamSettings]
) -> Match | None:
    """Find the static stream named ``name``, else the first template with a matching prefix."""
    for stream in streams:
        if stream.name == name and not stream.disabled:
            return Match(stream, stream.name, True)
    for template in templates:
        if template.disabled:
            continue
        for prefix in template.prefixes:
            if prefix_matches(prefix, name):
                return Match(template, prefix.strip("/"), False)
    return None


def default_resolve(path: str) -> str:
    """The path-based default resolver: the path with surrounding slashes removed."""
    return path.strip("/")
