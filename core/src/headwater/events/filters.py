"""``only`` / ``except`` filters of an event sink (Flussonic's ``event_sink_filter``)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any


def filter_matches(event: dict[str, Any], condition: dict[str, list[str]]) -> bool:
    """True when, for every field of ``condition``, the event's value matches one of the
    listed values (``*`` wildcards allowed: ``source_*``)."""
    for field, values in condition.items():
        value = event.get(field)
        if value is None:
            return False
        text = str(value)
        if not any(fnmatchcase(text, pattern) for pattern in values):
            return False
    return True


def event_matches(
    event: dict[str, Any],
    only: list[dict[str, list[str]]] | None,
    except_: list[dict[str, list[str]]] | None,
) -> bool:
    """Whether a sink takes ``event``: every ``only`` filter matches, and not every
    ``except`` filter does (an empty or missing list does not restrict)."""
    if only and not all(filter_matches(event, c) for c in only):
        return False
    return not (except_ and all(filter_matches(event, c) for c in except_))
