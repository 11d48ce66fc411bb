"""The plugin manager and hook calling: first/all results, broken and disabled plugins."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from core_helpers import core_server, request
from starlette.routing import Route

from headwater import (
    PluginError,
    PublishRejected,
    Refusal,
    Verdict,
    hookimpl,
)
from headwater.config import validate_document
from headwater.hookcall import call_all, call_first, call_sync_all
from headwater.plugins import describe_plugins, make_plugin_manager, validate_plugin_sections

# -- call_first / call_all -------------------------------------------------------------------


class Answer:
    """A ``resolve_name`` implementation giving a fixed answer, sync or async."""

    def __init__(self, name: str, answer: str | None, *, is_async: bool) -> None:
        self.__name__ = name
        if is_async:

            async def resolve_name(request: Any) -> str | None:
                await anyio.lowlevel.checkpoint()
                return answer

        else:

            def resolve_name(request: Any) -> str | None:
                return answer

        self.resolve_name = hookimpl(resolve_name)


def manager(*plugins: object) -> Any:
    return make_plugin_manager(load_entry_points=False, extra=plugins)


CALL_FIRST = [
    # (name, answer, async) in registration order; expected first non-None
    ([("a", "one", False), ("b", "two", True)], "two"),  # newest first
    ([("a", "one", True), ("b", None, True)], "one"),  # an async None is skipped, not "a result"
    ([("a", None, False), ("b", None, True)], "req/path"),  # the built-in path resolver answers
    ([("a", "one", True), ("b", None, False)], "one"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("impls", "expected"), CALL_FIRST)
async def test_call_first(impls: list[tuple[str, str | None, bool]], expected: str) -> None:
    pm = manager(*(Answer(n, a, is_async=s) for n, a, s in impls))
    assert await call_first(pm.hook.resolve_name, request=request("/req/path/")) == expected


@pytest.mark.anyio
async def test_call_all_awaits_and_keeps_order() -> None:
    pm = manager(
        Answer("a", "one", is_async=False),
        Answer("b", None, is_async=True),
        Answer("c", "three", is_async=True),
    )
    req = request("p")
    assert await call_all(pm.hook.resolve_name, request=req) == ["three", "one", "p"]


class Raiser:
    __name__ = "broken-plugin"

    @hookimpl
    def resolve_name(self, request: Any) -> str:
        raise RuntimeError("boom")

    @hookimpl
    async def authorize(self, request: Any, settings: Any) -> Verdict:
        raise PublishRejected(Refusal.FORBIDDEN, "a plugin may refuse by raising")


@pytest.mark.anyio
async def test_a_hook_that_raises_is_a_plugin_error_naming_the_plugin() -> None:
    pm = manager(Raiser())
    with pytest.raises(PluginError) as info:
        await call_first(pm.hook.resolve_name, request=request("x"))
    assert str(info.value) == (
        "plugin 'broken-plugin' failed in hook resolve_name: RuntimeError: boom"
    )
    # a PublishRejected raised by a hook is a refusal, not a plugin failure
    with pytest.raises(PublishRejected, match="refuse by raising"):
        await call_all(pm.hook.authorize, request=request("x"), settings=None)


@pytest.mark.anyio
async def test_a_broken_plugin_fails_the_publication_with_its_name() -> None:
    async with core_server(extra_plugins=[Raiser()]) as hw:
        with pytest.raises(PluginError, match="'broken-plugin' failed in hook resolve_name"):
            async with hw.server.publish(request("live/a")):
                pass
        assert hw.server.publications == {}


class AsyncRoutes:
    __name__ = "async-routes"

    @hookimpl
    async def http_routes(self, server: Any) -> list[Route]:
        return []


class AsyncSections:
    __name__ = "async-sections"

    @hookimpl
    async def settings_sections(self) -> dict[str, Any]:
        return {}


def test_synchronous_hooks_refuse_async_implementations() -> None:
    pm = manager(AsyncRoutes())
    with pytest.raises(PluginError, match="'async-routes': hook http_routes must not be async"):
        call_sync_all(pm.hook.http_routes, server=None)
    pm = manager(AsyncSections())
    with pytest.raises(PluginError, match="'async-sections': hook settings_sections must"):
        validate_plugin_sections(pm, validate_document({}))


class Misspelt:
    __name__ = "misspelt"

    @hookimpl
    def resolve_nam(self, request: Any) -> str:
        return "x"


class WrongArgs:
    __name__ = "wrong-args"

    @hookimpl
    def authorize(self, request: Any, settings: Any, extra: Any) -> None:
        return None


def test_a_misspelt_hook_fails_check_pending() -> None:
    with pytest.raises(PluginError, match="plugin 'misspelt': unknown hook 'resolve_nam'"):
        manager(Misspelt())


def test_an_implementation_not_matching_its_spec_names_the_plugin() -> None:
    with pytest.raises(PluginError, match=r"(?s)plugin 'wrong-args'.*\{'extra'\}"):
        manager(WrongArgs())


def _fake_entry_points(*eps: importlib.metadata.EntryPoint) -> Any:
    def entry_points(**kw: Any) -> Any:
        return list(eps) if kw.get("group") == "headwater" else []

    return entry_points


def test_a_plugin_that_fails_to_import(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = importlib.metadata.EntryPoint("broken", "headwater_no_such_plugin.plugin", "headwater")
    monkeypatch.setattr(importlib.metadata, "entry_points", _fake_entry_points(ep))
    with pytest.raises(PluginError) as info:
        make_plugin_manager()
    assert str(info.value).startswith(
        "plugin 'broken' (headwater_no_such_plugin.plugin) failed to load: ModuleNotFoundError"
    )
    # disabled, it is not even imported
    pm = make_plugin_manager(disabled=["broken"])
    assert not pm.has_plugin("broken")


def test_entry_point_plugins_are_loaded_and_can_be_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ep = importlib.metadata.EntryPoint("handlers", "publish_handlers", "headwater")
    monkeypatch.setattr(importlib.metadata, "entry_points", _fake_entry_points(ep))
    pm = make_plugin_manager()
    assert pm.has_plugin("handlers")
    assert not make_plugin_manager(disabled=["handlers"]).has_plugin("handlers")


@pytest.mark.anyio
async def test_a_builtin_plugin_can_be_disabled() -> None:
    config = {
        "templates": [
            {"name": "t", "prefixes": ["live"], "inputs": [{"url": "publish://"}], "password": "pw"}
        ]
    }
    async with core_server(config) as hw:
        with pytest.raises(PublishRejected):
            async with hw.server.publish(request("live/a")):
                pass
    async with core_server(config, disabled_plugins=["password"]) as hw:
        assert not hw.server.pm.has_plugin("headwater.builtin.password")
        async with hw.server.publish(request("live/a")) as pub:
            assert pub.name == "live/a"


@pytest.mark.anyio
async def test_hook_calls_can_be_traced(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HEADWATER_TRACE_HOOKS", "1")
    pm = manager(Answer("a", "one", is_async=False), Answer("b", None, is_async=True))
    caplog.set_level("INFO", logger="headwater")
    assert await call_first(pm.hook.resolve_name, request=request("x")) == "one"
    lines = [r.getMessage() for r in caplog.records]
    assert "hook resolve_name: b -> None" in lines
    assert "hook resolve_name: a -> 'one'" in lines


@pytest.mark.anyio
async def test_listeners_for_a_protocol_nobody_serves_are_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = {
        "listeners": {
            "http": [{"host": "127.0.0.1", "port": 0}],
            "rtsp": [{"host": "127.0.0.1", "port": 0}],
        }
    }
    async with core_server(config) as hw:
        assert hw.server.listeners.addresses("rtsp") == []
    assert "no installed plugin listens for 'rtsp'; its listeners are ignored" in [
        r.getMessage() for r in caplog.records
    ]


class OldWrapper:
    __name__ = "old-wrapper"

    @hookimpl(hookwrapper=True)
    def resolve_name(self, request: Any) -> Any:
        yield


class NewWrapper:
    __name__ = "new-wrapper"

    @hookimpl(wrapper=True)
    def authorize(self, request: Any, settings: Any) -> Any:
        return (yield)


@pytest.mark.parametrize(
    ("plugin", "hook"), [(OldWrapper(), "resolve_name"), (NewWrapper(), "authorize")]
)
def test_hook_wrappers_are_refused_at_registration(plugin: object, hook: str) -> None:
    with pytest.raises(PluginError) as info:
        manager(plugin)
    assert str(info.value).startswith(
        f"plugin {plugin.__name__!r}: hook wrappers are not supported ({hook})"  # type: ignore[attr-defined]
    )
    pm = manager()
    with pytest.raises(PluginError):
        pm.register(plugin)
    assert not pm.is_registered(plugin)


def test_versions_of_entry_point_plugins_are_kept() -> None:
    pm = make_plugin_manager()
    infos = {info.name: info for info in describe_plugins(pm)}
    assert pm.versions["rtmp"] == importlib.metadata.version("headwater-rtmp")
    assert infos["rtmp"].version == pm.versions["rtmp"]
