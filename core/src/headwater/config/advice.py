"""Warnings about settings that are valid but probably not what the operator meant."""

from __future__ import annotations

import re

from headwater.config.models import ServerSettings

_PREFIX_CHARS = re.compile(r"[A-Za-z0-9_/]+")


def settings_warnings(settings: ServerSettings) -> list[str]:
    """One line per doubtful setting (``check-config`` prints them, ``serve`` logs them).

    A template prefix with characters other than Latin letters, digits, ``_`` and ``/``
    works in headwater but not in every Flussonic version or every client URL.
    """
    out = []
    for index, template in enumerate(settings.templates):
        for prefix in template.prefixes:
            if not _PREFIX_CHARS.fullmatch(prefix):
                bad = "".join(sorted({c for c in prefix if not _PREFIX_CHARS.fullmatch(c)}))
                out.append(
                    f"templates.{index}.prefixes: prefix {prefix!r} of template "
                    f"{template.name!r} has characters other than letters, digits, _ and /: "
                    f"{bad!r}"
                )
    return out
