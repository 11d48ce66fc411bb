"""The publish path: resolve, authorize, register, run the consumers, stop cleanly.

``server.publish(request)`` is this module's :func:`publish`. It holds no state of its own:
the registry and the live publications are the server's, a publication's consumers are
the :class:`Publication`'s.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio

from headwater.config.models import StreamSettings
from headwater.consumers import Consumer
from headwater.errors import PublishRejected, Refusal
from headwater.hookcall import call_all
from headwater.log_text import shown
from headwater.naming import Match
from headwater.publication import Publication
from headwater.publish_request import PublishRequest
from headwater.stream import Stream
from headwater.telemetry import publish_refused
from headwater.verdict import Verdict

if TYPE_CHECKING:
    from headwater.server import Server

log = logging.getLogger("headwater.server")

STOPPED_HOOK_TIMEOUT = 10.0
"""Seconds the ``stream_stopped`` implementations may take, all together."""


@asynccontextmanager
async def publish(
    server: Server,
    request: PublishRequest,
    *,
    check: Callable[[StreamSettings], object] | None = None,
) -> AsyncIterator[Publication]:
    """Resolve, authorize and register a publication; yield it until the client leaves.

    See :meth:`headwater.Server.publish`, which is this function.
    """
    try:
        name, match = await server.resolve(request)
        if check is not None:
            check(match.settings)
        verdicts = await server.authorize(request, match.settings)
        stream = claim(server, name, match, request)
    except PublishRejected as exc:
        publish_refused(server, request, exc)
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
    publication = Publication(stream, request, anyio.CancelScope())
    server.publications[name] = publication
    stream.begin({"proto": request.proto, "ip": request.ip, "port": request.peer[1]})
    generation = stream.publications
    stats = stream.stats
    log.info("%s: publishing over %s from %s:%s", name, request.proto, *request.peer)
    try:
        consumers = await _consumers(server, stream, match.settings, verdicts)
        if stream.publications == generation:  # not taken over while the hooks answered
            for consumer in consumers:
                publication.start_consumer(consumer, server.task_group)
        with publication.scope:
            yield publication
    finally:
        if server.publications.get(name) is publication:
            del server.publications[name]
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
            await publication.stop_consumers()
        if stream.publications == generation:  # not taken over: the stream stopped
            with anyio.move_on_after(STOPPED_HOOK_TIMEOUT, shield=True) as waited:
                await call_all(server.pm.hook.stream_stopped, server=server, stream=stream)
            if waited.cancelled_caught:
                log.warning(
                    "%s: stream_stopped took longer than %gs; not waited for",
                    name,
                    STOPPED_HOOK_TIMEOUT,
                )


def claim(server: Server, name: str, match: Match, request: PublishRequest) -> Stream:
    """Register the publisher under ``name`` (no await: atomic against a racing publisher)."""
    current = server.publications.get(name)
    limits = server.settings.limits
    if current is not None:
        if not match.settings.takeover:
            raise PublishRejected(
                Refusal.BUSY,
                f"stream {name!r} is already being published from {current.request.ip}",
            )
        current.stop(f"taken over by a new publisher from {request.ip}")
        del server.publications[name]
        current.stream.finish()
    elif server.streams.live_count() >= limits.max_streams:
        raise PublishRejected(
            Refusal.LIMIT, f"the limit of {limits.max_streams} streams is reached"
        )
    return server.streams.ensure(name, match.settings, static=match.static, location=match.location)


async def _consumers(
    server: Server, stream: Stream, settings: StreamSettings, verdicts: list[Verdict]
) -> list[Consumer]:
    """The recorders (one per ``x-record`` path, or the configured ones) and other consumers."""
    consumers: list[Consumer] = []
    for path in [v.record_path for v in verdicts if v.record_path] or [None]:
        consumers.extend(
            await call_all(
                server.pm.hook.record, server=server, stream=stream, settings=settings, path=path
            )
        )
    for result in await call_all(
        server.pm.hook.stream_started, server=server, stream=stream, settings=settings
    ):
        consumers.extend(result)
    return consumers
