"""Listeners: the sockets plugins open, started and restarted by the core."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import anyio
from anyio.abc import TaskGroup, TaskStatus

log = logging.getLogger("headwater.listeners")


@runtime_checkable
class Listener(Protocol):
    """A bound service of a protocol plugin.

    ``serve`` binds, calls ``task_status.started(addresses)`` and serves until cancelled;
    a port that cannot be bound raises before ``started`` so start-up fails with the reason.
    """

    name: str
    addresses: list[tuple[str, int]]

    async def serve(self, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind and serve until cancelled."""
        ...


def describe_addresses(addresses: Iterable[tuple[str, int]]) -> list[str]:
    """``host:port`` per address, runs of consecutive ports folded (``0.0.0.0:2345-12344``)."""
    out: list[str] = []
    run: list[tuple[str, int]] = []
    for host, port in sorted(addresses):
        if run and (host != run[-1][0] or port != run[-1][1] + 1):
            out.append(_fold(run))
            run = []
        run.append((host, port))
    if run:
        out.append(_fold(run))
    return out


def _fold(run: list[tuple[str, int]]) -> str:
    host, first = run[0]
    if len(run) == 1:
        return f"{host}:{first}"
    return f"{host}:{first}-{run[-1][1]} ({len(run)} ports)"


class ListenerSet:
    """The running listeners, grouped by protocol so one protocol can be reopened alone.

    It runs what it is given: the server asks the ``listen`` hook and hands the listeners
    over, with the protocols the settings configure (to warn about those nobody serves).
    """

    def __init__(self) -> None:
        self.running: dict[str, list[tuple[Listener, anyio.CancelScope, anyio.Event]]] = {}
        self.announce = True

    def of(self, proto: str) -> list[Listener]:
        """The running listeners of a protocol."""
        return [listener for listener, _s, _d in self.running.get(proto, [])]

    def addresses(self, proto: str) -> list[tuple[str, int]]:
        """Bound addresses of a protocol's listeners."""
        return [a for lst, _s, _d in self.running.get(proto, []) for a in lst.addresses]

    async def start(
        self,
        tg: TaskGroup,
        listeners: Iterable[Listener],
        configured: Iterable[str],
        protos: Iterable[str] | None = None,
    ) -> None:
        """Start the ``listeners`` of ``protos`` (all when None) in ``tg``, each bound first.

        ``configured`` names the protocols that have listener settings; one that no
        listener serves is logged once and ignored.
        """
        wanted = None if protos is None else set(protos)
        listeners = list(listeners)
        served = {lst.name for lst in listeners}
        for proto in configured:
            if proto not in served and (wanted is None or proto in wanted):
                log.warning("no installed plugin listens for %r; its listeners are ignored", proto)
        for listener in listeners:
            if wanted is not None and listener.name not in wanted:
                continue
            scope = anyio.CancelScope()
            done = anyio.Event()
            await tg.start(self._run, listener, scope, done)
            self.running.setdefault(listener.name, []).append((listener, scope, done))
            for where in describe_addresses(listener.addresses):
                if self.announce:
                    print(f"{listener.name} listening on {where}", flush=True)
                log.info("%s listening on %s", listener.name, where)

    async def _run(
        self,
        listener: Listener,
        scope: anyio.CancelScope,
        done: anyio.Event,
        *,
        task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        try:
            with scope:
                await listener.serve(task_status=task_status)
        finally:
            done.set()

    async def stop(self, protos: Iterable[str]) -> None:
        """Stop the listeners of ``protos`` and wait until they have closed."""
        for proto in list(protos):
            for listener, scope, done in self.running.pop(proto, []):
                scope.cancel()
                with anyio.move_on_after(5, shield=True):
                    await done.wait()
                log.info("%s listener on %s closed", proto, listener.addresses)
