"""The plugin manager factory: built-in plugins, then the ``headwater`` entry-point group.

Nothing happens at import. ``HEADWATER_TRACE_HOOKS=1`` logs every hook call and result.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType

import pluggy

from headwater import hookspecs
from headwater.errors import PluginError

log = logging.getLogger("headwater.plugins")

ENTRY_POINT_GROUP = "headwater"

BUILTIN_PLUGINS: tuple[str, ...] = (
    "headwater.builtin.path_resolver",
    "headwater.builtin.password",
    "headwater.builtin.on_publish",
    "headwater.builtin.http",
    "headwater.builtin.x_record",
    "headwater.builtin.events",
)
"""Modules registered before any installed plugin (so they answer last)."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What ``headwater plugins`` shows of one loaded plugin."""

    name: str
    version: str
    module: str
    hooks: list[str] = field(default_factory=list)
    builtin: bool = False


def make_plugin_manager(
    *,
    disabled: Iterable[str] = (),
    load_entry_points: bool = True,
    extra: Iterable[ModuleType | object] = (),
) -> pluggy.PluginManager:
    """Build a plugin manager with the hookspecs, built-ins, installed and extra plugins.

    ``disabled`` names entry points (or built-in module names) to skip. A plugin that fails
    to import raises :class:`PluginError` naming it; ``check_pending`` at the end turns a
    misspelt hook into a start-up error.
    """
    pm = pluggy.PluginManager("headwater")
    pm.add_hookspecs(hookspecs)
    skip = set(disabled)
    for modname in BUILTIN_PLUGINS:
        if modname in skip or modname.rsplit(".", 1)[-1] in skip:
            continue
        pm.register(importlib.import_module(modname), name=modname)
    if load_entry_points:
        for ep in sorted(
            importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
        ):
            if ep.name in skip or pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
                ) from exc
            _register(pm, plugin, ep.name)
            dist = getattr(ep, "dist", None)
            if dist is not None:
                pm._plugin_distinfo.append((plugin, dist))  # shown by list_plugin_distinfo()
    for index, plugin in enumerate(extra):
        if pm.is_registered(plugin):
            continue
        name = getattr(plugin, "__name__", None) or f"extra-{index}"
        _register(pm, plugin, name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginError(f"plugin {name!r}: {exc}") from exc
    if os.environ.get("HEADWATER_TRACE_HOOKS"):
        pm.trace.root.setwriter(lambda msg: log.info("hook %s", msg.rstrip()))
        pm.enable_tracing()
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register a plugin; a hook implementation that does not fit its spec names the plugin."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r}: {exc}") from exc


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Name, version, module and implemented hooks of every registered plugin."""
    versions = {id(p): d.version for p, d in pm.list_plugin_distinfo()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(c.name for c in pm.get_hookcallers(plugin) or [])
        module = getattr(plugin, "__name__", type(plugin).__name__)
        builtin = name in BUILTIN_PLUGINS
        version = versions.get(id(plugin)) or (_core_version() if builtin else "")
        infos.append(PluginInfo(name, version, module, hooks, builtin))
    return infos


def _core_version() -> str:
    try:
        return importlib.metadata.version("headwater")
    except importlib.metadata.PackageNotFoundError:
        return ""
