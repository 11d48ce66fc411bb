"""What the application sees of an SRT caller: a :class:`Caller` to accept (with the
stream's passphrase) or reject, then a :class:`Session` to iterate for its payload."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from anyio.lowlevel import checkpoint

from headwater import HandshakeRejected

from .clock import now_us
from .wire.connection import Connection
from .wire.endpoint import Address, ConnectRequest
from .wire.rejection import RejectReason

SESSION_QUEUE = 4096
"""Payload batches a session may hold before its handler is considered stuck."""


class Refused(HandshakeRejected):
    """The caller was refused during :meth:`Caller.accept` (``reason`` says why)."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Session:
    """An accepted caller's stream: iterate it for payload until the caller leaves.

    Payload waits in a deque; the handler's iteration sleeps only when the deque is
    empty, on an asyncio future when the loop is asyncio (anyio's memory object stream
    made an event and passed a checkpoint for every batch: a few per cent of a busy
    server's time with hundreds of small streams), on an anyio event otherwise."""

    def __init__(self, connection: Connection, peer: Address, local_port: int) -> None:
        self.connection = connection
        self.peer = peer
        self.local_port = local_port
        self._chunks: deque[bytes] = deque()
        self._loop: asyncio.AbstractEventLoop | None
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:  # another anyio backend, or no loop (tests)
            self._loop = None
        self._waiter: asyncio.Future[None] | anyio.Event | None = None
        self._finished = False
        self._done = False
        """The handler stopped iterating: payload is dropped from then on."""
        self.overflowed = False

    def deliver(self, data: bytes) -> None:
        """Hand delivered payload to the handler (never blocks); a handler that falls
        ``SESSION_QUEUE`` batches behind has its connection closed."""
        if self._done or self._finished:
            return
        if len(self._chunks) >= SESSION_QUEUE:
            self.overflowed = True
            self.connection.close(now_us(), "the stream handler fell behind")
            return
        self._chunks.append(data)
        self._wake()

    def finish(self) -> None:
        """The connection ended: iteration stops once the queued payload is read."""
        self._finished = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if isinstance(waiter, asyncio.Future):
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiter.set()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._chunks
        try:
            while True:
                while chunks:
                    yield chunks.popleft()
                    if chunks:  # a backlog: let the timer task read the socket between
                        await (asyncio.sleep(0) if self._loop is not None else checkpoint())
                if self._finished:
                    return
                if self._loop is not None:
                    future = self._waiter = self._loop.create_future()
                    await future
                else:
                    event = self._waiter = anyio.Event()
                    await event.wait()
        finally:
            self._done = True
            self._waiter = None
            chunks.clear()

    @property
    def close_reason(self) -> str:
        """Why the connection ended (empty while it is open)."""
        return self.connection.close_reason

    def close(self, reason: str = "closed by the server") -> None:
        """Close the connection from our side."""
        self.connection.close(now_us(), reason)


class Caller:
    """A caller waiting for a decision: :meth:`accept` or :meth:`reject` it.

    It knows nothing of sockets: the port that received the handshake passes in what
    accepting, rejecting and checking a secret mean for it.
    """

    def __init__(
        self,
        request: ConnectRequest,
        local_port: int,
        *,
        accept: Callable[[Caller, str | None], Session],
        reject: Callable[[Caller, RejectReason], None],
        check_secret: Callable[[ConnectRequest, str | None], RejectReason | None],
    ) -> None:
        self.request = request
        self._local_port = local_port
        self._accept = accept
        self._reject = reject
        self._check_secret = check_secret
        self.session: Session | None = None
        self.decided_event = anyio.Event()

    @property
    def stream_id(self) -> str | None:
        """The stream id the caller sent, if any."""
        return self.request.stream_id

    @property
    def peer(self) -> Address:
        """The caller's address."""
        return self.request.peer

    @property
    def local_port(self) -> int:
        """The port the caller connected to."""
        return self._local_port

    @property
    def encrypted(self) -> bool:
        """Whether the caller encrypts (it has a passphrase)."""
        return self.request.encrypted

    @property
    def decided(self) -> bool:
        """Whether the caller was already accepted or rejected."""
        return self.request.decided

    def check_secret(self, passphrase: str | None) -> RejectReason | None:
        """What :meth:`accept` would refuse with for this passphrase, or None."""
        return self._check_secret(self.request, passphrase)

    def accept(self, passphrase: str | None) -> Session:
        """Accept with the stream's passphrase (None for an unencrypted stream).

        :raises Refused: with ``UNSECURE`` or ``BADSECRET`` when the caller's encryption
            does not match; the caller has then been told.
        """
        return self._accept(self, passphrase)

    def reject(self, reason: RejectReason) -> None:
        """Refuse the caller with ``reason``."""
        self._reject(self, reason)


Handler = Callable[[Caller], Awaitable[None]]


def refusal_text(reason: RejectReason, encrypted: bool) -> str:
    """One sentence for the log saying why a caller was refused."""
    if reason == RejectReason.BADSECRET:
        return "bad secret: the caller's passphrase is wrong"
    if reason == RejectReason.UNSECURE:
        if encrypted:
            return "unsecure: the caller sent a passphrase to an unencrypted stream"
        return "unsecure: the stream needs a passphrase and the caller has none"
    return reason.name.lower()
