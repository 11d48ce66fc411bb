"""The plugin manager factory: built-in plugins, then the ``headwater`` entry-point group.

Nothing happens at import. Hook wrappers are refused at registration: the core calls each
implementation itself (:mod:`headwater.hookcall`), so a wrapper would run as a plain
function. Plugin-section validation lives here too, so checking a config file needs a
plugin manager, not a server.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from headwater import hookspecs
from headwater.config.loading import format_validation_error
from headwater.config.models import ServerSettings
from headwater.errors import ConfigError, PluginError
from headwater.hookcall import call_sync_all, call_sync_all_named

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


class PluginManager(pluggy.PluginManager):
    """pluggy's manager with headwater's rules: no hook wrappers, versions of our own."""

    def __init__(self) -> None:
        super().__init__("headwater")
        self.versions: dict[str, str] = {}
        """Plugin name → version of the distribution it was loaded from."""

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin``; a hook wrapper or an implementation that does not fit its
        spec raises :class:`PluginError` naming the plugin (and nothing is registered)."""
        label = name or getattr(plugin, "__name__", None) or repr(plugin)
        try:
            registered = super().register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {label!r}: {exc}") from exc
        wrappers = sorted(
            caller.name
            for caller in self.get_hookcallers(plugin) or []
            for impl in caller.get_hookimpls()
            if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper)
        )
        if wrappers:
            self.unregister(plugin)
            raise PluginError(
                f"plugin {label!r}: hook wrappers are not supported ({', '.join(wrappers)}); "
                "headwater awaits each implementation itself, so write a plain hookimpl"
            )
        return registered


def make_plugin_manager(
    *,
    disabled: Iterable[str] = (),
    load_entry_points: bool = True,
    extra: Iterable[ModuleType | object] = (),
) -> PluginManager:
    """Build a plugin manager with the hookspecs, built-ins, installed and extra plugins.

    ``disabled`` names entry points (or built-in module names) to skip. A plugin that fails
    to import raises :class:`PluginError` naming it; ``check_pending`` at the end turns a
    misspelt hook into a start-up error.
    """
    pm = PluginManager()
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
            pm.register(plugin, name=ep.name)
            dist = getattr(ep, "dist", None)
            if dist is not None:
                pm.versions[ep.name] = dist.version
    for index, plugin in enumerate(extra):
        if pm.is_registered(plugin):
            continue
        name = getattr(plugin, "__name__", None) or f"extra-{index}"
        pm.register(plugin, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginError(f"plugin {name!r}: {exc}") from exc
    return pm


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Name, version, module and implemented hooks of every registered plugin."""
    versions = getattr(pm, "versions", {})
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        hooks = sorted(c.name for c in pm.get_hookcallers(plugin) or [])
        module = getattr(plugin, "__name__", type(plugin).__name__)
        builtin = name in BUILTIN_PLUGINS
        version = versions.get(name) or (_core_version() if builtin else "")
        infos.append(PluginInfo(name, version, module, hooks, builtin))
    return infos


def _core_version() -> str:
    try:
        return importlib.metadata.version("headwater")
    except importlib.metadata.PackageNotFoundError:
        return ""


def validate_plugin_sections(pm: pluggy.PluginManager, settings: ServerSettings) -> dict[str, Any]:
    """Validate the plugins' own config sections against their models; return them by key.

    Each ``settings_sections`` implementation (synchronous, through the sync-call helper)
    names the sections it owns; two plugins claiming one key is a :class:`PluginError`.
    A section that does not validate, or a ``check_settings`` problem, raises
    :class:`ConfigError` naming the key; a section nobody owns is logged and ignored.
    """
    owners: dict[str, str] = {}
    models: dict[str, type[BaseModel]] = {}
    for plugin, declared in reversed(call_sync_all_named(pm.hook.settings_sections)):
        if not isinstance(declared, dict):
            raise PluginError(f"plugin {plugin!r}: hook settings_sections must return a dict")
        for key, model in declared.items():
            if key in owners:
                claimants = f"{owners[key]!r} and {plugin!r}"
                raise PluginError(f"plugins {claimants} both claim section {key!r}")
            owners[key] = plugin
            models[key] = model
    sections: dict[str, Any] = {}
    for key, model in models.items():
        try:
            sections[key] = model.model_validate(settings.plugin_section(key) or {})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, prefix=f"{key}.")) from exc
    known = set(ServerSettings.model_fields) | set(owners)
    for key in settings.model_extra or {}:
        if key not in known:
            log.warning("config section %r is not known to headwater or any plugin; ignored", key)
    _warn_unrecorded(pm, settings)
    problems = [
        line for lines in call_sync_all(pm.hook.check_settings, settings=settings) for line in lines
    ]
    if problems:
        raise ConfigError("\n".join(problems))
    return sections


def _warn_unrecorded(pm: pluggy.PluginManager, settings: ServerSettings) -> None:
    """Warn when ``dvr`` is set but no installed plugin records (e.g. no headwater-dvr)."""
    with_dvr = [e.name for e in [*settings.streams, *settings.templates] if e.dvr is not None]
    if not with_dvr:
        return
    for name, plugin in pm.list_name_plugin():
        callers = pm.get_hookcallers(plugin) or []
        if name not in BUILTIN_PLUGINS and any(c.name == "record" for c in callers):
            return
    log.warning(
        "dvr is set on %s but no recording plugin is installed (pip install headwater-dvr): "
        "nothing will be recorded",
        ", ".join(repr(n) for n in with_dvr),
    )
