"""The clients a stream-socket listener runs (RTMP, RTSP): each admitted through the core's
:class:`~headwater.connection_limits.ConnectionGate`, its control task started in the
listener's task group, and its place in the gate given back when it ends.

The loop's ``create_server`` makes a connection object per accepted socket; the object asks
:meth:`ClientTasks.start` to run, and calls :meth:`ClientTasks.done` when it closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import anyio

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from headwater.connection_limits import ConnectionGate


class Client(Protocol):
    """What a listener's connection offers: its peer address and its control task."""

    peer: tuple[str, int]
    run: Callable[[], Awaitable[None]]


C = TypeVar("C", bound=Client)


class ClientTasks(Generic[C]):
    """The running clients of one listener, bounded by its gate."""

    def __init__(self, gate: ConnectionGate) -> None:
        self.gate = gate
        self.connections: set[C] = set()
        self._tg: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While inside, new clients start in a task group that this exit waits for (and
        cancelling the listener cancels)."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                yield
            finally:
                self._tg = None

    def start(self, conn: C) -> bool:
        """Run a new connection's control task, unless a limit or shutdown turns it away
        (the gate counts connections in total, per address and against the open-files
        limit, and logs a refusal). Called before the connection allocates its session."""
        if self._tg is None or not self.gate.admit(*conn.peer):
            return False
        self.connections.add(conn)
        self._tg.start_soon(conn.run)
        return True

    def done(self, conn: C) -> None:
        """A connection ended: forget it and give its place in the gate back (once)."""
        if conn in self.connections:
            self.connections.discard(conn)
            self.gate.release(conn.peer[0])
