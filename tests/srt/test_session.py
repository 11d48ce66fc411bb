"""The session's payload queue: batches reach the handler in order, iteration ends once
the connection finished and the queue is read, a handler that falls behind has its
connection closed, and payload for a handler that stopped reading is dropped."""

from __future__ import annotations

import anyio
import pytest

from headwater_srt import caller as caller_module
from headwater_srt.caller import Session
from headwater_srt.wire.endpoint import Endpoint

from .fake_caller import FakeCaller
from .test_endpoint import PEER, accept

pytestmark = pytest.mark.anyio


def _session() -> Session:
    conn, _hs = accept(Endpoint(), FakeCaller())
    return Session(conn, PEER, 9000)


async def test_batches_in_order_then_the_end() -> None:
    session = _session()
    got: list[bytes] = []

    async def read() -> None:
        async for chunk in session:
            got.append(chunk)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await anyio.sleep(0.01)  # the reader waits on an empty queue
        session.deliver(b"a")
        await anyio.sleep(0.01)
        session.deliver(b"b")
        session.deliver(b"c")  # two at once: both read, in order
        session.finish()
    assert got == [b"a", b"b", b"c"]


async def test_queued_payload_is_read_after_finish() -> None:
    session = _session()
    for i in range(5):
        session.deliver(bytes([i]))
    session.finish()
    session.deliver(b"too late")  # after the end: dropped
    assert [c async for c in session] == [bytes([i]) for i in range(5)]


async def test_a_handler_that_falls_behind_has_its_connection_closed(monkeypatch) -> None:
    monkeypatch.setattr(caller_module, "SESSION_QUEUE", 3)
    session = _session()
    for i in range(3):
        session.deliver(bytes([i]))
    assert not session.connection.closed
    session.deliver(b"one too many")
    assert session.overflowed and session.connection.closed
    assert session.close_reason == "the stream handler fell behind"


async def test_payload_for_a_handler_that_stopped_reading_is_dropped() -> None:
    session = _session()
    session.deliver(b"first")
    chunks = session.__aiter__()
    assert await chunks.__anext__() == b"first"
    await chunks.aclose()  # the handler leaves
    session.deliver(b"unread")
    assert not session._chunks
