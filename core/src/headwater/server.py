"""The server: root task group, listeners, the publish path and the stream lifecycle."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pluggy
from anyio.abc import TaskGroup, TaskStatus

from headwater.byte_budget import ByteBudget
from headwater.config.models import ServerSettings, StreamSettings
from headwater.connection_limits import ConnectionLimits
from headwater.consumers import Consumer
from headwater.errors import ConfigError, PluginError, PublishRejected, Refusal
from headwater.hookcall import call_all, call_first, call_sync_all
from headwater.listeners import ListenerSet
from headwater.log_text import shown
from headwater.naming import Match, match_name, validate_name
from headwater.plugins import make_plugin_manager
from headwater.publication import Publication
from headwater.publish_request import PublishRequest
from headwater.registry import StreamRegistry
from headwater.stream import Stream
from headwater.subscription import Subscription
from headwater.verdict import Verdict

log = logging.getLogger("headwater.server")

CONSUMER_GRACE = 5.0
"""Seconds a consumer may take to drain after its publication ended."""


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
        self.listeners = ListenerSet(self)
        self.backend_streams: list[StreamSettings] = []
        """Streams the config backend (``config_external``) lists, merged with local ones."""
        self.backend_status: dict[str, Any] = {}
        self.publications: dict[str, Publication] = {}
        self.plugin_settings: dict[str, Any] = {}
        self.started_at = time.time()
        self.connection_limits = ConnectionLimits(lambda: self.settings.limits)
        """Connection gates of the TCP listeners and the open-files budget (``limits``)."""
        self.buffers = ByteBudget(lambda: int(self.settings.limits.max_buffered_bytes))
        """Bytes all connections hold for unfinished messages (``limits.max_buffered_bytes``)."""
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

    def validate_plugin_sections(self, settings: ServerSettings) -> dict[str, Any]:
        """Validate the plugins' own config sections; raise ConfigError naming the key."""
        from pydantic import ValidationError

        from headwater.config.loading import format_validation_error

        sections: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for impl in self.pm.hook.settings_sections.get_hookimpls():
            try:
                declared = impl.function() or {}
            except Exception as exc:
                raise PluginError(
                    f"plugin {impl.plugin_name!r} failed in hook settings_sections: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(declared, dict):
                if inspect.iscoroutine(declared):
                    declared.close()
                raise PluginError(
                    f"plugin {impl.plugin_name!r}: hook settings_sections must return a dict "
                    "(and must not be async)"
                )
            for key, model in declared.items():
                if key in owners:
                    claimants = f"{owners[key]!r} and {impl.plugin_name!r}"
                    raise PluginError(f"plugins {claimants} both claim section {key!r}")
                owners[key] = impl.plugin_name
                raw = settings.plugin_section(key)
                try:
                    sections[key] = model.model_validate(raw or {})
                except ValidationError as exc:
                    raise ConfigError(format_validation_error(exc, prefix=f"{key}.")) from exc
        known = set(ServerSettings.model_fields) | set(owners)
        for key in settings.model_extra or {}:
            if key not in known:
                log.warning(
                    "config section %r is not known to headwater or any plugin; ignored", key
                )
        problems = [
            line
            for lines in call_sync_all(self.pm.hook.check_settings, settings=settings)
            for line in lines
        ]
        if problems:
            raise ConfigError("\n".join(problems))
        return sections

    async def serve(self, *, task_status: TaskStatus[Server] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open every listener, then run until cancelled."""
        self.plugin_settings = self.validate_plugin_sections(self.settings)
        self.streams.sync_static(self.settings.streams)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                await self.listeners.start(tg)
                tg.start_soon(self._housekeeping)
                self._start_backend()
                task_status.started(self)
                await anyio.sleep_forever()
        finally:
            self._tg = None

    def stop(self) -> None:
        """Stop serving: publishers are disconnected, consumers and listeners closed."""
        for pub in list(self.publications.values()):
            pub.stop("the server is shutting down")
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    def _start_backend(self) -> None:
        if self._backend_scope is not None:
            self._backend_scope.cancel()
            self._backend_scope = None
        if not self.settings.config_external or self._tg is None:
            return
        from headwater.config_backend import ConfigBackend

        backend = ConfigBackend(self, self.settings.config_external)
        scope = anyio.CancelScope()
        self._backend_scope = scope

        async def run() -> None:
            with scope:
                await backend.run()

        self._tg.start_soon(run)

    async def _housekeeping(self) -> None:
        """Expire idle dynamic streams and disconnect silent publishers, once a second."""
        limits = self.settings.limits
        while True:
            await anyio.sleep(1.0)
            for name in self.streams.expire():
                log.debug(
                    "%s: dynamic stream removed after %gs idle", name, limits.dynamic_stream_ttl
                )
            for pub in list(self.publications.values()):
                if pub.idle_for > limits.publish_idle_timeout:
                    pub.stop(f"no data for {limits.publish_idle_timeout:g}s")

    # -- configuration at run time ---------------------------------------------------------

    async def apply_settings(self, new: ServerSettings) -> list[str]:
        """Switch to ``new`` settings; reopen listeners whose config changed.

        Returns the protocols whose listeners were reopened. The HTTP listener is reopened
        in the background (the request that asked for it is still being answered).
        """
        sections = self.validate_plugin_sections(new)
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
        try:
            await self.listeners.stop(inline)
            await self.listeners.start(tg, inline)
        except Exception:
            log.warning("new listeners failed to open; going back to the previous settings")
            await self.listeners.stop(inline)
            self._use_settings(old, old_sections)
            await self.listeners.start(tg, inline)
            raise
        if old.config_external != new.config_external:
            self.backend_streams = []
            self.streams.sync_static([], named_by="backend")
            self._start_backend()
        if "http" in changed:

            async def reopen_http() -> None:
                await anyio.sleep(0.2)
                await self.listeners.stop(["http"])
                await self.listeners.start(tg, ["http"])

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

    # -- the publish path --------------------------------------------------------------------

    @asynccontextmanager
    async def publish(
        self,
        request: PublishRequest,
        *,
        check: Callable[[StreamSettings], object] | None = None,
    ) -> AsyncIterator[Publication]:
        """Resolve, authorize and register a publication; yield it until the client leaves.

        ``check``, when given, is called with the matched settings after the name is
        resolved and before anyone is asked to authorize: a protocol plugin uses it for
        checks only it can make (the SRT passphrase against the caller's encryption); any
        exception it raises propagates, so the plugin can refuse in its own terms.

        Raises :class:`PublishRejected` (logged in one line with its reason) when the name
        is bad or unknown, the publisher is not authorized, the name is live, or a limit is
        reached. Recorders and pushes start with the publication and stop after it.
        """
        try:
            name, match = await self.resolve(request)
            if check is not None:
                check(match.settings)
            verdicts = await self.authorize(request, match.settings)
            stream = self._claim(name, match, request)
        except PublishRejected as exc:
            log.warning(
                "refused %s publish from %s (%s): %s",
                request.proto,
                request.ip,
                shown(request.name or request.path or request.stream_id)
                if request.name or request.path or request.stream_id
                else f"port {request.local_port}",
                exc.reason,
            )
            raise
        scope = anyio.CancelScope()
        publication = Publication(stream, request, scope)
        self.publications[name] = publication
        stream.begin({"proto": request.proto, "ip": request.ip, "port": request.peer[1]})
        generation = stream.publications
        stats = stream.stats
        consumers_done = stream.consumers_done
        log.info("%s: publishing over %s from %s:%s", name, request.proto, *request.peer)
        consumer_scopes: list[anyio.CancelScope] = []
        try:
            await self._start_consumers(
                stream, match.settings, verdicts, consumer_scopes, generation
            )
            with scope:
                yield publication
        finally:
            if self.publications.get(name) is publication:
                del self.publications[name]
            if stream.publications == generation:  # not taken over: the stream ends with us
                stream.finish()
            log.info(
                "%s: publisher %s left (%d frames, %d bytes%s)",
                name,
                request.ip,
                stats.frames_in,
                stats.bytes_in,
                f"; {publication.stop_reason}" if publication.stop_reason else "",
            )
            with anyio.CancelScope(shield=True):
                await self._stop_consumers(stream, consumer_scopes, consumers_done)
                if stream.publications == generation:  # not taken over: the stream stopped
                    await call_all(self.pm.hook.stream_stopped, server=self, stream=stream)

    def _claim(self, name: str, match: Match, request: PublishRequest) -> Stream:
        """Register the publisher under ``name`` (no await: atomic against a racing publisher)."""
        current = self.publications.get(name)
        if current is not None:
            if not match.settings.takeover:
                raise PublishRejected(
                    Refusal.BUSY,
                    f"stream {name!r} is already being published from {current.request.ip}",
                )
            current.stop(f"taken over by a new publisher from {request.ip}")
            del self.publications[name]
            current.stream.finish()
        elif self.streams.live_count() >= self.settings.limits.max_streams:
            raise PublishRejected(
                Refusal.LIMIT, f"the limit of {self.settings.limits.max_streams} streams is reached"
            )
        return self.streams.ensure(
            name, match.settings, static=match.static, location=match.location
        )

    async def _start_consumers(
        self,
        stream: Stream,
        settings: StreamSettings,
        verdicts: list[Verdict],
        scopes: list[anyio.CancelScope],
        generation: int,
    ) -> None:
        consumers: list[Consumer] = []
        paths = [v.record_path for v in verdicts if v.record_path] or [None]
        for path in paths:
            consumers.extend(
                await call_all(
                    self.pm.hook.record, server=self, stream=stream, settings=settings, path=path
                )
            )
        for result in await call_all(
            self.pm.hook.stream_started, server=self, stream=stream, settings=settings
        ):
            consumers.extend(result)
        if not consumers or stream.publications != generation:
            return  # nothing to run, or taken over while the hooks were answering
        for consumer in consumers:
            sub = stream.open_subscription(consumer.name)
            done = anyio.Event()
            stream.consumers_done.append(done)
            scope = anyio.CancelScope()  # one each: a CancelScope guards a single `with`
            scopes.append(scope)
            self.task_group.start_soon(self._run_consumer, consumer, stream, sub, scope, done)

    async def _run_consumer(
        self,
        consumer: Consumer,
        stream: Stream,
        sub: Subscription,
        scope: anyio.CancelScope,
        done: anyio.Event,
    ) -> None:
        try:
            with scope:
                await consumer.run(sub)
        except Exception as exc:
            log.error(
                "%s: consumer %s failed: %s: %s",
                stream.name,
                consumer.name,
                type(exc).__name__,
                exc,
            )
        finally:
            stream.close_subscription(sub)
            done.set()

    async def _stop_consumers(
        self, stream: Stream, scopes: list[anyio.CancelScope], waiting: list[anyio.Event]
    ) -> None:
        with anyio.move_on_after(CONSUMER_GRACE):
            for done in waiting:
                await done.wait()
        for scope in scopes:
            scope.cancel()
        with anyio.move_on_after(CONSUMER_GRACE):
            for done in waiting:
                await done.wait()
        waiting.clear()
