"""The public API: ``headwater.__all__`` is exactly this list, and every name imports."""

from __future__ import annotations

import importlib
from pathlib import Path

import headwater

EXPORTED = [
    "Codec",
    "ConfigError",
    "Consumer",
    "Frame",
    "HeadwaterError",
    "Listener",
    "ListenerSettings",
    "MediaKind",
    "PlayBase",
    "PlayURL",
    "PluginError",
    "PortRange",
    "ProtocolError",
    "Publication",
    "PublishRejected",
    "PublishRequest",
    "Refusal",
    "Server",
    "ServerSettings",
    "Stream",
    "StreamSettings",
    "Subscription",
    "Track",
    "Verdict",
    "hookimpl",
]

PROMISED_TO_PLUGIN_AUTHORS = {
    "hookimpl", "Server", "PublishRequest", "PublishRejected", "Refusal", "ProtocolError",
    "Stream", "Subscription", "Consumer", "Listener", "Frame", "Track", "Codec", "MediaKind",
}  # fmt: skip


def test_all_is_the_tested_list() -> None:
    assert sorted(headwater.__all__) == EXPORTED
    assert set(headwater.__all__) >= PROMISED_TO_PLUGIN_AUTHORS


def test_every_exported_name_imports_and_is_documented() -> None:
    for name in headwater.__all__:
        value = getattr(headwater, name)
        module = importlib.import_module(value.__module__) if hasattr(value, "__module__") else None
        assert module is None or module.__name__.startswith(("headwater", "pluggy")), name
        if isinstance(value, type):
            assert value.__doc__, f"{name} has no docstring"
    namespace: dict[str, object] = {}
    exec("from headwater import *", namespace)
    assert set(headwater.__all__) <= set(namespace)


def test_the_exception_tree() -> None:
    for name in ("ConfigError", "PluginError", "ProtocolError", "PublishRejected"):
        assert issubclass(getattr(headwater, name), headwater.HeadwaterError)
    rejected = headwater.PublishRejected(headwater.Refusal.BUSY, "busy now")
    assert (rejected.reason, rejected.http_status, str(rejected)) == ("busy now", 409, "busy now")


def test_the_package_is_typed() -> None:
    assert (Path(headwater.__file__).parent / "py.typed").is_file()
