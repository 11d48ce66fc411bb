"""Calling hooks whose implementations may be async, and combining their results.

pluggy cannot await, so each implementation is called on its own through
``hook.get_hookimpls()``, its result awaited when it is awaitable, and then the results
are combined as the hook's contract says: first non-None, all of them, or every verdict.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import pluggy

from headwater.errors import PluginError, PublishRejected

log = logging.getLogger("headwater.hooks")


async def await_me_maybe(value: Any) -> Any:
    """Await ``value`` if it is awaitable, else return it."""
    if inspect.isawaitable(value):
        return await value
    return value


async def _results(
    hook: pluggy.HookCaller, kwargs: dict[str, Any]
) -> AsyncIterator[tuple[str, Any]]:
    """Yield (plugin name, awaited result) of each implementation, last-registered first."""
    trace = _tracing()
    for impl in reversed(hook.get_hookimpls()):
        args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
        try:
            result = await await_me_maybe(impl.function(**args))
        except (PublishRejected, PluginError):
            raise
        except Exception as exc:
            raise _plugin_failure(impl.plugin_name, hook.name, exc) from exc
        if trace:
            log.info("hook %s: %s -> %r", hook.name, impl.plugin_name, result)
        yield impl.plugin_name, result


def _tracing() -> bool:
    """``HEADWATER_TRACE_HOOKS=1`` logs every implementation called and what it returned.

    pluggy's own tracing (``pm.enable_tracing``) only sees calls made through
    ``pm.hook.<name>(...)``; the core calls each implementation itself, so it traces here.
    """
    return bool(os.environ.get("HEADWATER_TRACE_HOOKS"))


async def call_first(hook: pluggy.HookCaller, **kwargs: Any) -> Any:
    """The first non-None result, implementations asked in pluggy's order (newest first)."""
    async for _name, result in _results(hook, kwargs):
        if result is not None:
            return result
    return None


async def call_all(hook: pluggy.HookCaller, **kwargs: Any) -> list[Any]:
    """Every non-None result, in pluggy's order."""
    return [result async for _name, result in _results(hook, kwargs) if result is not None]


def call_sync_all(hook: pluggy.HookCaller, **kwargs: Any) -> list[Any]:
    """Every non-None result of a hook that must be synchronous (e.g. ``http_routes``)."""
    return [result for _name, result in call_sync_all_named(hook, **kwargs)]


def call_sync_all_named(hook: pluggy.HookCaller, **kwargs: Any) -> list[tuple[str, Any]]:
    """Every non-None result of a synchronous hook, with the name of the plugin that gave it."""
    out = []
    trace = _tracing()
    for impl in reversed(hook.get_hookimpls()):
        args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
        try:
            result = impl.function(**args)
        except Exception as exc:
            raise _plugin_failure(impl.plugin_name, hook.name, exc) from exc
        if trace:
            log.info("hook %s: %s -> %r", hook.name, impl.plugin_name, result)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()  # never awaited, on purpose
            raise PluginError(f"plugin {impl.plugin_name!r}: hook {hook.name} must not be async")
        if result is not None:
            out.append((impl.plugin_name, result))
    return out


def _plugin_failure(plugin: str, hook: str, exc: Exception) -> PluginError:
    return PluginError(f"plugin {plugin!r} failed in hook {hook}: {type(exc).__name__}: {exc}")
