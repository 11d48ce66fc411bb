"""Hooks (DESIGN §3): every hook with a sync and an async implementation, and broken plugins."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pydantic
import pytest
from core_helpers import GreetingListener, core_server, frame_index, greeting, request, video
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from headwater import (
    ConfigError,
    PluginError,
    PublishRejected,
    Refusal,
    Subscription,
    Verdict,
    hookimpl,
)
from headwater.config import validate_document
from headwater.hookcall import call_all, call_all_named, call_first, call_sync_all
from headwater.plugins import BUILTIN_PLUGINS, describe_plugins, make_plugin_manager
from headwater.server import Server


class Collector:
    """A consumer keeping the indexes of the frames it reads."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log
        self.frames: list[int] = []

    async def run(self, subscription: Subscription) -> None:
        async for frame in subscription:
            self.frames.append(frame_index(frame))
        self.log.append(f"{self.name} done")


class SectionModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    level: int = 1


class SyncPlugin:
    """Every hook as a plain function."""

    __name__ = "sync-plugin"

    def __init__(self) -> None:
        self.log: list[str] = []
        self.consumers: dict[str, Collector] = {}

    @hookimpl
    def settings_sections(self) -> dict[str, type[pydantic.BaseModel]]:
        return {"syncsection": SectionModel}

    @hookimpl
    def check_settings(self, settings: Any) -> list[str] | None:
        if settings.plugin_section("syncsection") == {"level": 13}:
            return ["syncsection.level: 13 is unlucky"]
        return None

    @hookimpl
    def listen(self, server: Server) -> list[GreetingListener]:
        return [GreetingListener("fake-sync")]

    @hookimpl
    def http_routes(self, server: Server) -> list[Route]:
        async def hello(request: Request) -> PlainTextResponse:
            return PlainTextResponse(f"sync routes, {len(request.app.state.server.streams)}")

        return [Route("/hello-sync", hello)]

    @hookimpl
    def resolve_name(self, request: Any) -> str | None:
        return "live/from-sync" if request.path == "alias-sync" else None

    @hookimpl
    def authorize(self, request: Any, settings: Any) -> Verdict | None:
        if request.args.get("deny") == "sync":
            return Verdict.deny("the sync plugin says no")
        return None

    @hookimpl
    def record(self, server: Server, stream: Any, settings: Any, path: str | None) -> Collector:
        self.consumers["rec-sync"] = Collector("rec-sync", self.log)
        return self.consumers["rec-sync"]

    @hookimpl
    def stream_started(self, server: Server, stream: Any, settings: Any) -> list[Collector]:
        self.log.append(f"started-sync {stream.name}")
        self.consumers["started-sync"] = Collector("started-sync", self.log)
        return [self.consumers["started-sync"]]

    @hookimpl
    def stream_stopped(self, server: Server, stream: Any) -> None:
        self.log.append(f"stopped-sync {stream.name}")

    @hookimpl
    def push(self, server: Server, stream: Any, url: str) -> Collector | None:
        return Collector(f"push-sync {url}", self.log) if url.startswith("sync://") else None


class AsyncPlugin:
    """Every hook that may be async as an ``async def``."""

    __name__ = "async-plugin"

    def __init__(self, log: list[str], consumers: dict[str, Collector]) -> None:
        self.log = log
        self.consumers = consumers

    @hookimpl
    async def listen(self, server: Server) -> list[GreetingListener]:
        await anyio.lowlevel.checkpoint()
        return [GreetingListener("fake-async")]

    @hookimpl
    async def resolve_name(self, request: Any) -> str | None:
        await anyio.lowlevel.checkpoint()
        return "live/from-async" if request.stream_id == "sid-async" else None

    @hookimpl
    async def authorize(self, request: Any, settings: Any) -> Verdict | None:
        await anyio.lowlevel.checkpoint()
        if request.args.get("deny") == "async":
            return Verdict.deny("the async plugin says no", Refusal.FORBIDDEN)
        return None

    @hookimpl
    async def record(self, server: Server, stream: Any, settings: Any, path: str | None) -> Any:
        await anyio.lowlevel.checkpoint()
        self.consumers["rec-async"] = Collector("rec-async", self.log)
        return self.consumers["rec-async"]

    @hookimpl
    async def stream_started(self, server: Server, stream: Any, settings: Any) -> Any:
        await anyio.lowlevel.checkpoint()
        self.log.append(f"started-async {stream.name}")
        self.consumers["started-async"] = Collector("started-async", self.log)
        return [self.consumers["started-async"]]

    @hookimpl
    async def stream_stopped(self, server: Server, stream: Any) -> None:
        await anyio.lowlevel.checkpoint()
        self.log.append(f"stopped-async {stream.name}")

    @hookimpl
    async def push(self, server: Server, stream: Any, url: str) -> Collector | None:
        await anyio.lowlevel.checkpoint()
        return Collector(f"push-async {url}", self.log) if url.startswith("async://") else None


def plugins() -> tuple[SyncPlugin, AsyncPlugin]:
    sync = SyncPlugin()
    return sync, AsyncPlugin(sync.log, sync.consumers)


HOOK_CONFIG = {
    "listeners": {"http": [{"host": "127.0.0.1", "port": 0}]},
    "templates": [{"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}]}],
    "syncsection": {"level": 5},
}


@pytest.mark.anyio
async def test_every_hook_sync_and_async_through_a_running_server() -> None:
    sync, asyn = plugins()
    async with core_server(HOOK_CONFIG, extra_plugins=[sync, asyn]) as hw:
        server = hw.server
        # settings_sections: the plugin's section is validated by its model
        assert server.plugin_settings["syncsection"] == SectionModel(level=5)

        # listen: both listeners run and answer on their own ports
        for name in ("fake-sync", "fake-async"):
            (host, port), *_ = server.listeners.addresses(name)
            assert await greeting((host, port)) == f"hello from {name}\n".encode()

        # http_routes: the route answers through the one HTTP server
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.get(hw.http_url("hello-sync"))
        assert (reply.status_code, reply.text) == (200, "sync routes, 0")

        # resolve_name: each implementation names its own publications
        async with server.publish(request("alias-sync")) as pub:
            assert pub.name == "live/from-sync"
        req = request("")
        req.stream_id = "sid-async"
        async with server.publish(req) as pub:
            assert pub.name == "live/from-async"

        # authorize: a denial from either refuses
        for who, refusal in (("sync", Refusal.UNAUTHORIZED), ("async", Refusal.FORBIDDEN)):
            with pytest.raises(PublishRejected) as info:
                async with server.publish(request("live/x", deny=who)):
                    pytest.fail("denied publication accepted")
            assert info.value.refusal is refusal
            assert info.value.reason == f"the {who} plugin says no"

        # record + stream_started: four consumers read every frame; stream_stopped after them
        sync.log.clear()
        async with server.publish(request("live/cam")) as pub:
            for i in range(40):
                pub.send(video(i))
                if i % 8 == 0:
                    await anyio.lowlevel.checkpoint()
            stream = server.streams.get("live/cam")
            assert stream is not None
            names = sorted(c["name"] for c in stream.describe()["stats"]["consumers"])
            assert names == ["rec-async", "rec-sync", "started-async", "started-sync"]

            # push: the first plugin claiming the URL wins
            pusher = await server.find_pusher(stream, "sync://cdn/live/cam")
            assert pusher is not None and pusher.name == "push-sync sync://cdn/live/cam"
            pusher = await server.find_pusher(stream, "async://cdn/live/cam")
            assert pusher is not None and pusher.name == "push-async async://cdn/live/cam"
            assert await server.find_pusher(stream, "other://cdn") is None

        for name in ("rec-sync", "rec-async", "started-sync", "started-async"):
            assert sync.consumers[name].frames == list(range(40)), name
        assert sync.log[:2] == ["started-async live/cam", "started-sync live/cam"]
        assert sorted(sync.log[2:6]) == sorted(
            f"{n} done" for n in ("rec-sync", "rec-async", "started-sync", "started-async")
        )
        assert sync.log[6:] == ["stopped-async live/cam", "stopped-sync live/cam"]


def test_check_settings_errors_refuse_the_settings() -> None:
    sync, _ = plugins()
    pm = make_plugin_manager(load_entry_points=False, extra=[sync])
    server = Server(validate_document({}), pm=pm)
    with pytest.raises(ConfigError, match=r"^syncsection\.level: 13 is unlucky$"):
        server.validate_plugin_sections(validate_document({"syncsection": {"level": 13}}))
    with pytest.raises(ConfigError, match=r"^syncsection\.level: "):
        server.validate_plugin_sections(validate_document({"syncsection": {"level": "high"}}))
    with pytest.raises(ConfigError, match=r"^syncsection\.colour: "):
        server.validate_plugin_sections(validate_document({"syncsection": {"colour": "red"}}))
    sections = server.validate_plugin_sections(validate_document({}))
    assert sections == {"syncsection": SectionModel()}


@pytest.mark.anyio
async def test_check_settings_errors_refuse_start_up() -> None:
    sync, _ = plugins()
    config = {**HOOK_CONFIG, "syncsection": {"level": 13}}
    with pytest.raises((ConfigError, ExceptionGroup)) as info:
        async with core_server(config, extra_plugins=[sync]):
            pytest.fail("the server started")
    assert "syncsection.level: 13 is unlucky" in repr(info.value)


def test_two_plugins_claiming_one_section() -> None:
    other = SyncPlugin()
    other.__name__ = "other-plugin"
    pm = make_plugin_manager(load_entry_points=False, extra=[SyncPlugin(), other])
    with pytest.raises(PluginError, match="'sync-plugin' and 'other-plugin' both claim section"):
        Server(validate_document({}), pm=pm).validate_plugin_sections(validate_document({}))


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
    named = await call_all_named(pm.hook.resolve_name, request=req)
    assert named == [("c", "three"), ("a", "one"), ("headwater.builtin.path_resolver", "p")]


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
        Server(validate_document({}), pm=pm).validate_plugin_sections(validate_document({}))


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


def test_describe_plugins_lists_builtins_and_hooks() -> None:
    infos = {i.name: i for i in describe_plugins(manager(SyncPlugin()))}
    for name in BUILTIN_PLUGINS:
        assert infos[name].builtin and infos[name].version
    assert infos["headwater.builtin.password"].hooks == ["authorize"]
    assert infos["sync-plugin"].hooks == sorted(
        [
            "authorize",
            "check_settings",
            "http_routes",
            "listen",
            "push",
            "record",
            "resolve_name",
            "settings_sections",
            "stream_started",
            "stream_stopped",
        ]
    )


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
