"""``on_publish``: ask an HTTP handler or a Python callable before each publication.

HTTP: a JSON POST of ``{name, location, proto, args, ip}``; 200 allows, any other status,
an error or a timeout denies; an ``x-record`` response header names a file to record the
stream into. Python (``url = "python:package.module:function"``): the function is called
with the same fields as keyword arguments and returns True/False, a :class:`Verdict`, a
recording path, or the pair Flussonic's Lua handlers return, ``(allowed, {"record_path":
PATH})`` (it may be ``async``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from headwater.config.models import StreamSettings
from headwater.errors import Refusal
from headwater.hookcall import await_me_maybe
from headwater.markers import hookimpl
from headwater.publish_request import PublishRequest
from headwater.verdict import Verdict

log = logging.getLogger("headwater.on_publish")

PYTHON_SCHEME = "python:"


def request_fields(request: PublishRequest) -> dict[str, Any]:
    """The fields every on_publish handler receives."""
    return {
        "name": request.name,
        "location": request.location,
        "proto": request.proto,
        "args": dict(request.args),
        "ip": request.ip,
    }


def load_callable(spec: str) -> Callable[..., Any]:
    """Import ``package.module:function`` (with or without the ``python:`` scheme)."""
    spec = spec.removeprefix(PYTHON_SCHEME)
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{spec!r} is not of the form package.module:function")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{spec!r} is not callable")
    return obj


async def ask_python(spec: str, fields: dict[str, Any], timeout: float) -> Verdict:
    """Call an in-process handler; its exception or a timeout denies."""
    try:
        func = load_callable(spec)
        with anyio.fail_after(timeout):
            result = await await_me_maybe(func(**fields))
    except TimeoutError:
        return Verdict.deny(f"on_publish handler {spec} did not answer within {timeout:g}s")
    except Exception as exc:
        log.warning("on_publish handler %s failed: %s: %s", spec, type(exc).__name__, exc)
        return Verdict.deny(f"on_publish handler failed: {type(exc).__name__}")
    if isinstance(result, Verdict):
        return result
    if isinstance(result, tuple | list) and len(result) == 2 and isinstance(result[1], dict):
        return lua_shaped_verdict(bool(result[0]), result[1])
    if result is True or result is None:
        return Verdict.allow()
    if isinstance(result, str):
        return Verdict.allow(record_path=result)
    return Verdict.deny("on_publish handler denied the publication")


def lua_shaped_verdict(allowed: bool, extra: dict[str, Any]) -> Verdict:
    """A verdict from ``(allowed, {...})``: ``record_path`` (or ``x-record``) names a
    recording; on denial ``code`` 403 means forbidden and ``reason`` is logged."""
    if allowed:
        path = extra.get("record_path") or extra.get("x-record")
        return Verdict.allow(record_path=str(path) if path else None)
    refusal = Refusal.FORBIDDEN if extra.get("code") == 403 else Refusal.UNAUTHORIZED
    reason = extra.get("reason") or "on_publish handler denied the publication"
    return Verdict.deny(str(reason), refusal)


async def ask_http(url: str, fields: dict[str, Any], timeout: float) -> Verdict:
    """POST the fields as JSON; 200 allows (``x-record`` names a recording), else deny."""
    try:
        # httpx times each read on its own; the deadline bounds the whole exchange
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(timeout=timeout) as client:
                response = await client.post(url, json=fields)
    except (httpx.TimeoutException, TimeoutError):
        return Verdict.deny(f"on_publish handler did not answer within {timeout:g}s")
    except httpx.HTTPError as exc:
        return Verdict.deny(f"on_publish handler unreachable: {type(exc).__name__}")
    if response.status_code != 200:
        refusal = Refusal.FORBIDDEN if response.status_code == 403 else Refusal.UNAUTHORIZED
        return Verdict.deny(f"on_publish handler answered {response.status_code}", refusal)
    return Verdict.allow(record_path=response.headers.get("x-record") or None)


@hookimpl
async def authorize(request: PublishRequest, settings: StreamSettings) -> Verdict | None:
    """Ask the configured on_publish handler, if any."""
    handler = settings.on_publish
    if handler is None:
        return None
    fields = request_fields(request)
    if handler.url.startswith(PYTHON_SCHEME):
        return await ask_python(handler.url, fields, handler.timeout)
    return await ask_http(handler.url, fields, handler.timeout)
