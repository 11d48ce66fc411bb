"""The event bus: stamps events and hands them to every sink whose filters take them."""

from __future__ import annotations

import itertools
import logging
import time
from typing import TYPE_CHECKING, Any

import anyio

from headwater.events.filters import event_matches
from headwater.events.sinks import Sink, make_sink

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from headwater.config.models import EventSinkSettings

log = logging.getLogger("headwater.events")


class EventBus:
    """Holds the running sinks; :meth:`emit` queues an event for each (never blocks)."""

    def __init__(self) -> None:
        self.sinks: list[Sink] = []
        self._ids = itertools.count(1)
        self._scope: anyio.CancelScope | None = None
        self._config: list[dict[str, Any]] = []

    def emit(self, name: str, **fields: Any) -> dict[str, Any]:
        """Stamp an event (``event``, ``event_id``, ``utc_ms``) and queue it for the sinks."""
        event = {"event": name, "event_id": next(self._ids), "utc_ms": int(time.time() * 1000)}
        event.update((k, v) for k, v in fields.items() if v is not None)
        for sink in self.sinks:
            settings = sink.settings
            if event_matches(event, settings.only, settings.except_):
                sink.put(event)
        return event

    def configure(self, tg: TaskGroup, sinks: list[EventSinkSettings]) -> None:
        """Run ``sinks`` (restarting them only when their settings changed)."""
        wanted = [s.model_dump(by_alias=True) for s in sinks]
        if wanted == self._config and (self.sinks or not sinks):
            return
        self.stop()
        self._config = wanted
        self.sinks = [make_sink(s) for s in sinks]
        if not self.sinks:
            return
        scope = anyio.CancelScope()
        self._scope = scope
        running = list(self.sinks)

        async def run() -> None:
            with scope:
                async with anyio.create_task_group() as inner:
                    for sink in running:
                        inner.start_soon(_supervise, sink)

        tg.start_soon(run)
        log.info("event sinks: %s", ", ".join(s.settings.name for s in running))

    def stop(self) -> None:
        """Stop every sink (undelivered events are dropped)."""
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None
        self.sinks = []
        self._config = []


RESTART_DELAY = 5.0
"""Seconds before a sink whose task failed (an unwritable file, a bad URL) starts again."""


async def _supervise(sink: Sink) -> None:
    """Run a sink; when it fails, log why and start it again (its queue is kept)."""
    while True:
        try:
            await sink.run()
        except Exception as exc:
            log.error(
                "event sink %s failed: %s: %s; restarting in %gs",
                sink.settings.name,
                type(exc).__name__,
                exc,
                RESTART_DELAY,
            )
        await anyio.sleep(RESTART_DELAY)


def emit(server: Any, name: str, **fields: Any) -> None:
    """Emit on ``server.events`` if the server has an event bus (test doubles may not)."""
    bus = getattr(server, "events", None)
    if bus is not None:
        bus.emit(name, **fields)


emit_event = emit
"""The public name of :func:`emit` (``from headwater import emit_event``)."""
