"""The body of a config ``PUT``/``POST``: a JSON patch, or a whole config in Flussonic's text.

A JSON object is a partial document merged over the running config. A ``text/plain`` body
is read as Flussonic's configuration text (as Flussonic's own API takes it) and describes
the whole config: streams, templates and event sinks it does not name are removed,
``config_external``, ``edit_auth`` and ``view_auth`` it does not set are unset. Listeners
of protocols it does not mention are kept (a text without ``http`` does not lock the API
out), and so are the settings the text syntax cannot express (``limits``, ``data_dir``,
plugin sections).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from headwater.config.loading import Locate, parse_config_text
from headwater.errors import ConfigError

MAX_BODY = 4 << 20
"""Largest config body accepted, bytes."""

NAMED_LISTS = ("streams", "templates", "event_sinks")
CLEARED_KEYS = ("config_external", "edit_auth", "view_auth")


@dataclass
class ConfigBody:
    """A parsed config body: the patch to merge, and what reading it warned about."""

    patch: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    locate: Locate | None = None


async def read_config_body(request: Request, current: dict[str, Any]) -> ConfigBody:
    """Parse the request body by its content type; raise ConfigError naming the problem."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ConfigError(f"the body is larger than {MAX_BODY} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the body is not UTF-8 ({exc.reason})") from exc
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if ctype == "text/plain":
        parsed = parse_config_text(text, ".conf")
        return ConfigBody(
            replacement_patch(current, parsed.document), parsed.warnings, parsed.locate
        )
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ConfigError("the body must be a JSON object")
    return ConfigBody(body)


def replacement_patch(current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The patch that turns ``current`` into ``new`` when merged with ``deep_merge``.

    Named entries ``new`` lacks are removed; its own are marked ``replace`` so they take
    the place of the old ones whole (also when the persisted patch is applied over the
    config file at the next start).
    """
    patch = dict(new)
    for key in NAMED_LISTS:
        kept = {item["name"] for item in new.get(key, [])}
        removals = [
            {"name": item["name"], "remove": True}
            for item in current.get(key, [])
            if item["name"] not in kept
        ]
        patch[key] = removals + [{**item, "replace": True} for item in new.get(key, [])]
    for key in CLEARED_KEYS:
        patch.setdefault(key, None)
    return patch
