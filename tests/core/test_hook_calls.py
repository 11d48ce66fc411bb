"""Hooks (DESIGN §3): every hook with a sync and an async implementation, and broken plugins."""

from __future__ import annotations

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
from headwater.plugins import (
    BUILTIN_PLUGINS,
    describe_plugins,
    make_plugin_manager,
    validate_plugin_sections,
)
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
    with pytest.raises(ConfigError, match=r"^syncsection\.level: 13 is unlucky$"):
        validate_plugin_sections(pm, validate_document({"syncsection": {"level": 13}}))
    with pytest.raises(ConfigError, match=r"^syncsection\.level: "):
        validate_plugin_sections(pm, validate_document({"syncsection": {"level": "high"}}))
    with pytest.raises(ConfigError, match=r"^syncsection\.colour: "):
        validate_plugin_sections(pm, validate_document({"syncsection": {"colour": "red"}}))
    sections = validate_plugin_sections(pm, validate_document({}))
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
        validate_plugin_sections(pm, validate_document({}))


def test_describe_plugins_lists_builtins_and_hooks() -> None:
    infos = {
        i.name: i
        for i in describe_plugins(
            make_plugin_manager(load_entry_points=False, extra=[SyncPlugin()])
        )
    }
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
