"""Flussonic's collection query parameters: ``select``, ``sort``, ``q`` and field filters.

``select=name,stats.alive`` keeps only those (nested) fields; ``sort=-stats.bitrate,name``
orders by fields, ``-`` for descending; ``q`` searches the name, title and input URLs;
any other parameter ``a.b=value`` keeps items whose field ``a.b`` reads as ``value``.
Pure functions over the JSON-ready dicts the API returns.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def get_path(item: dict[str, Any], path: str) -> Any:
    """The value at dotted ``path`` of ``item``, or a private sentinel when absent."""
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def select_fields(item: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """A copy of ``item`` holding only the dotted ``fields`` (nesting kept)."""
    out: dict[str, Any] = {}
    for path in fields:
        value = get_path(item, path)
        if value is _MISSING:
            continue
        target = out
        parts = path.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def matches_filters(item: dict[str, Any], filters: dict[str, str]) -> bool:
    """True when every ``path=value`` filter reads the same in ``item``."""
    for path, wanted in filters.items():
        value = get_path(item, path)
        if value is _MISSING or _text(value) != wanted:
            return False
    return True


def matches_search(item: dict[str, Any], q: str) -> bool:
    """``q`` (case-insensitive) in the name, title or an input URL."""
    needle = q.lower()
    hay = [item.get("name", ""), item.get("title", "")]
    hay += [i.get("url", "") for i in item.get("inputs", []) if isinstance(i, dict)]
    return any(needle in str(h).lower() for h in hay)


def sort_items(items: list[dict[str, Any]], spec: str) -> list[dict[str, Any]]:
    """Sort by the comma-separated fields of ``spec`` (``-field`` descending), stably."""
    for field in reversed([f.strip() for f in spec.split(",") if f.strip()]):
        descending = field.startswith("-")
        path = field.lstrip("-+")

        def key(item: dict[str, Any], path: str = path) -> tuple[int, Any]:
            value = get_path(item, path)
            if value is _MISSING or value is None:
                return (1, "")
            if isinstance(value, bool | int | float):
                return (0, (0, float(value), ""))
            return (0, (1, 0.0, str(value)))

        present = [i for i in items if key(i)[0] == 0]
        absent = [i for i in items if key(i)[0] == 1]
        present.sort(key=lambda i: key(i)[1], reverse=descending)
        items = present + absent
    return items
