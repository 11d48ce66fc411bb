"""In-process ``on_publish`` handlers (``python:publish_handlers:...``) for the core tests."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel

from headwater import Refusal, Verdict

CALLS: list[dict[str, Any]] = []


def allow_sync(**fields: Any) -> bool:
    """Allow when ``?token=good``; remember the fields it was called with."""
    CALLS.append(fields)
    return fields["args"].get("token") == "good"


async def allow_async(**fields: Any) -> Verdict:
    """The async twin of :func:`allow_sync`, answering with a Verdict."""
    CALLS.append(fields)
    await anyio.lowlevel.checkpoint()
    if fields["args"].get("token") == "good":
        return Verdict.allow()
    return Verdict.deny("token refused by the async handler", Refusal.FORBIDDEN)


async def record_into(**fields: Any) -> str:
    """Allow and name a recording path (the in-process ``x-record``)."""
    return f"rec/{fields['name']}.flv"


async def too_slow(**fields: Any) -> bool:
    """Never answers in time."""
    await anyio.sleep(30)
    return True


def broken(**fields: Any) -> bool:
    """A handler with a bug."""
    raise RuntimeError("handler bug")


not_callable = 42


def lua_pair(**fields: Any) -> tuple[bool, dict[str, Any]]:
    """Answer as Flussonic's Lua handlers do: ``true, {record_path = ...}``."""
    if fields["args"].get("token") != "good":
        return False, {"code": 403, "reason": "bad token"}
    return True, {"record_path": f"lua/{fields['name']}.flv"}
