"""The server: root task group, listeners, settings at run time; entry to the publish and
play paths (:mod:`headwater.publish_path`, :mod:`headwater.play_path`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pluggy
from anyio.abc import TaskGroup, TaskStatus

from headwater.byte_budget import ByteBudget
from headwater.config.models import ServerSettings, StreamSettings
from headwater.connection_limits import ConnectionLimits
from headwater.consumers import Consumer
from headwater.errors import PublishRejected, Refusal
from headwater.events import EventBus
from headwater.hookcall import call_all, call_first
from headwater.listeners import ListenerSet
from headwater.naming import Match, match_name, validate_name
from headwater.play_path import play, playable
from headwater.play_request import PlayRequest
from headwater.plugins import make_plugin_manager, validate_plugin_sections
from headwater.publication import Publication
from headwater.publish_path import publish
from headwater.publish_request import PublishRequest
from headwater.registry import StreamRegistry
from headwater.stream import Stream
from headwater.subscription import Subscription
from headwater.telemetry import Tallies, backend_failed
from headwater.verdict import Verdict

if TYPE_CHECKING:
    from headwater.config_backend import ConfigBackend

log = logging.getLogger("headwater.server")


class Server:
    """One running headwater: settings, plugins, streams and listeners.

    Run it with ``await tg.start(server.serve)``; it stops when its task group is cancelled
    or :meth:`stop` is called, disconnecting publishers and closing recordings.
    """

    def __init__(
        self,
        settings: ServerSettings,
        *,
        pm: pluggy.PluginManager | None = None,
        extra_plugins: tuple[object, ...] = (),
    ) -> None:
        self.settings = settings
        self.pm = pm or make_plugin_manager(disabled=settings.plugins.disabled, extra=extra_plugins)
        self.streams = StreamRegistry(settings.limits)
        self.listeners = ListenerSet()
        self.backend: ConfigBackend | None = None
        """The config backend (``config_external``) while one is configured and serving."""
        self.publications: dict[str, Publication] = {}
        self.plugin_settings: dict[str, Any] = {}
        self.started_at = time.time()
        self.connection_limits = ConnectionLimits(lambda: self.settings.limits)
        """Connection gates of the TCP listeners and the open-files budget (``limits``)."""
        self.buffers = ByteBudget(lambda: int(self.settings.limits.max_buffered_bytes))
        """Bytes all connections hold for unfinished messages (``limits.max_buffered_bytes``)."""
        self.events = EventBus()
        """Where events go (``event_sinks``); ``headwater.events.emit`` queues one."""
        self.tallies = Tallies()
        """Totals for the metrics (refusals, bytes of ended publications...)."""
        self._tg: TaskGroup | None = None
        self._backend_scope: anyio.CancelScope | None = None

    @property
    def data_dir(self) -> Path:
        """Where headwater keeps its state (persisted API config, recordings by default)."""
        return Path(self.settings.data_dir)

    @property
    def task_group(self) -> TaskGroup:
        """The root task group (only while serving)."""
        if self._tg is None:
            raise RuntimeError("the server is not running")
        return self._tg

    # -- life cycle ----------------------------------------------------------------------

    async def serve(self, *, task_status: TaskStatus[Server] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open every listener, then run until cancelled."""
        self.plugin_settings = validate_plugin_sections(self.pm, self.settings)
        self.streams.sync_static(self.settings.streams)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                self.events.configure(tg, self.settings.event_sinks)
                await self.open_listeners(tg)
                tg.start_soon(self._housekeeping)
                self._start_backend()
                task_status.started(self)
                await anyio.sleep_forever()
        finally:
            self._tg = None
            self.events.stop()

    def stop(self) -> None:
        """Stop serving: publishers are disconnected, consumers and listeners closed."""
        for pub in list(self.publications.values()):
            pub.stop("the server is shutting down")
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    @property
    def backend_streams(self) -> list[StreamSettings]:
        """Streams the config backend (``config_external``) lists, merged with local ones."""
        return self.backend.streams if self.backend is not None else []

    @property
    def backend_status(self) -> dict[str, Any]:
        """The config backend's state as the API shows it (empty without a backend)."""
        return self.backend.status if self.backend is not None else {}

    def _start_backend(self) -> None:
        if self._backend_scope is not None:
            self._backend_scope.cancel()
            self._backend_scope = None
        self.backend = None
        if not self.settings.config_external or self._tg is None:
            return
        from headwater.config_backend import ConfigBackend  # httpx only when configured

        backend = ConfigBackend(
            self.settings.config_external,
            limits=lambda: self.settings.limits,
            on_change=self._backend_changed,
            on_error=lambda kind, message: backend_failed(self, backend.base, kind, message),
        )
        self.backend = backend
        scope = anyio.CancelScope()
        self._backend_scope = scope

        async def run() -> None:
            with scope:
                await backend.run()

        self._tg.start_soon(run)

    def _backend_changed(self, old: list[StreamSettings], new: list[StreamSettings]) -> None:
        """Stop publications of streams the backend no longer lists; sync the registry."""
        names = {s.name for s in new}
        for gone in old:
            if gone.name not in names:
                pub = self.publications.get(gone.name)
                if pub is not None and pub.stream.named_by == "external":
                    pub.stop("the config backend no longer lists this stream")
        self.streams.sync_static(new, named_by="external")

    async def open_listeners(self, tg: TaskGroup, protos: list[str] | None = None) -> None:
        """Ask the ``listen`` hook for listeners and start those of ``protos`` (all: None)."""
        listeners = [
            listener
            for result in await call_all(self.pm.hook.listen, server=self)
            for listener in result
        ]
        configured = [proto for proto, entries in self.settings.listeners.items() if entries]
        await self.listeners.start(tg, listeners, configured, protos)

    async def _housekeeping(self) -> None:
        """Expire idle dynamic streams, disconnect silent publishers and return the memory of
        closed connections' buffers, once a second."""
        limits = self.settings.limits
        while True:
            await anyio.sleep(1.0)
            for name in self.streams.expire():
                log.debug(
                    "%s: dynamic stream removed after %gs idle", name, limits.dynamic_stream_ttl
                )
            now = time.monotonic()
            for pub in list(self.publications.values()):
                pub.stream.sample_output(now)
                if pub.idle_for > limits.publish_idle_timeout:
                    pub.stop(f"no data for {limits.publish_idle_timeout:g}s")
            self.buffers.release_freed()  # after an attack, its buffers go back to the system

    # -- configuration at run time ---------------------------------------------------------

    async def apply_settings(self, new: ServerSettings) -> list[str]:
        """Switch to ``new`` settings; reopen listeners whose config changed.

        Returns the protocols whose listeners were reopened. The HTTP listener is reopened
        in the background (the request that asked for it is still being answered).
        """
        sections = validate_plugin_sections(self.pm, new)
        old = self.settings
        old_sections = self.plugin_settings
        changed = sorted(
            p
            for p in set(old.listeners) | set(new.listeners)
            if old.listeners.get(p) != new.listeners.get(p)
        )
        tg = self.task_group
        inline = [p for p in changed if p != "http"]
        self._use_settings(new, sections)
        self.events.configure(tg, new.event_sinks)
        try:
            await self.listeners.stop(inline)
            await self.open_listeners(tg, inline)
        except Exception:
            log.warning("new listeners failed to open; going back to the previous settings")
            await self.listeners.stop(inline)
            self._use_settings(old, old_sections)
            self.events.configure(tg, old.event_sinks)
            await self.open_listeners(tg, inline)
            raise
        if old.config_external != new.config_external:
            self.streams.sync_static([], named_by="external")
            self._start_backend()
        if "http" in changed:

            async def reopen_http() -> None:
                await anyio.sleep(0.2)
                await self.listeners.stop(["http"])
                await self.open_listeners(tg, ["http"])

            tg.start_soon(reopen_http)
        return changed

    def _use_settings(self, settings: ServerSettings, sections: dict[str, Any]) -> None:
        self.settings = settings
        self.plugin_settings = sections
        self.streams.limits = settings.limits
        self.streams.sync_static(settings.streams)

    # -- naming ----------------------------------------------------------------------------

    def find_settings(self, name: str) -> Match | None:
        """The static stream (config, then backend) or template that accepts ``name``."""
        return match_name(
            name, [*self.settings.streams, *self.backend_streams], self.settings.templates
        )

    async def resolve(self, request: PublishRequest) -> tuple[str, Match]:
        """Resolve and validate the name and find its settings, or raise PublishRejected."""
        name = await call_first(self.pm.hook.resolve_name, server=self, request=request)
        if not name:
            raise PublishRejected(Refusal.BAD_NAME, "no stream name was given")
        validate_name(name)
        match = self.find_settings(name)
        if match is None:
            raise PublishRejected(
                Refusal.NOT_FOUND, f"no stream or template accepts publishing to {name!r}"
            )
        if not match.settings.publish_enabled:
            raise PublishRejected(Refusal.NOT_FOUND, f"stream {name!r} does not accept publishing")
        request.name = name
        request.location = match.location
        return name, match

    async def authorize(self, request: PublishRequest, settings: StreamSettings) -> list[Verdict]:
        """Ask every ``authorize`` implementation; raise PublishRejected on any denial."""
        verdicts: list[Verdict] = await call_all(
            self.pm.hook.authorize, server=self, request=request, settings=settings
        )
        for verdict in verdicts:
            if not verdict.allowed:
                raise PublishRejected(
                    verdict.refusal, verdict.reason or "publication not authorized"
                )
        return verdicts

    async def find_pusher(self, stream: Stream, url: str) -> Consumer | None:
        """The consumer of the first plugin whose ``push`` hook claims ``url``, or None."""
        return await call_first(self.pm.hook.push, server=self, stream=stream, url=url)

    # -- the play path -----------------------------------------------------------------------

    def playable(self, request: PlayRequest) -> Stream:
        """The live stream a player asks for, or raise :class:`PlayRejected` (logged).

        Validates the name, finds the stream and checks it is live. A protocol that must
        describe a stream before playing it (RTSP DESCRIBE, an HLS master playlist) reads
        ``tracks`` from the result.
        """
        return playable(self.streams, request)

    def play(self, request: PlayRequest) -> AbstractAsyncContextManager[Subscription]:
        """``async with server.play(request) as subscription``: frames from a keyframe on.

        Raises :class:`PlayRejected` on entry, like :meth:`playable`. The subscription
        starts at the last keyframe of the stream's GOP cache, drops to the next keyframe
        when the player falls behind, and ends when the publication ends.
        """
        return play(self.streams, request)

    # -- the publish path --------------------------------------------------------------------

    def publish(
        self,
        request: PublishRequest,
        *,
        check: Callable[[StreamSettings], object] | None = None,
    ) -> AbstractAsyncContextManager[Publication]:
        """``async with server.publish(request) as publication``: send frames until done.

        Resolves the name, authorizes and registers the publication; yields it until the
        client leaves (the path itself is :mod:`headwater.publish_path`).

        ``check``, when given, is called with the matched settings after the name is
        resolved and before anyone is asked to authorize: a protocol plugin uses it for
        checks only it can make (the SRT passphrase against the caller's encryption); any
        exception it raises propagates, so the plugin can refuse in its own terms.

        Raises :class:`PublishRejected` (logged in one line with its reason) when the name
        is bad or unknown, the publisher is not authorized, the name is live, or a limit is
        reached. Recorders and pushes start with the publication and stop after it.
        """
        return publish(self, request, check=check)
