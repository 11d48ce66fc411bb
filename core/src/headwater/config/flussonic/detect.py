"""Which syntax a config text is written in: TOML, JSON or Flussonic's, by its content."""

from __future__ import annotations

import re
from typing import Literal

Syntax = Literal["toml", "json", "flussonic"]

_TOML_LINE = re.compile(r"""^(\[|[A-Za-z0-9_.\-"']+\s*=)""")


def detect_syntax(text: str, suffix: str = "") -> Syntax:
    """Guess the syntax from the first meaningful line; the file suffix only breaks ties.

    ``{`` opens JSON, ``[table]`` or ``key = value`` is TOML, a directive (``http 80;``,
    ``stream name {``) is Flussonic's. An empty text follows the suffix (TOML by default).
    """
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            return "json"
        if _TOML_LINE.match(line):
            return "toml"
        return "flussonic"
    if suffix == ".json":
        return "json"
    if suffix == ".conf":
        return "flussonic"
    return "toml"
