"""The listener's shared tick (``headwater.shared_tick``): callbacks registered since the
last tick run together at the next one, in the order registered; registering a key again
replaces its callback; a cancelled callback does not run; a failing one does not stop the
others. The next tick is one interval after the last while callbacks keep coming (so waits
registered at different moments end together, none longer than the interval), and one
interval after the first registration when the ticker was idle."""

from __future__ import annotations

import asyncio
import logging

import pytest

from headwater import SharedTick

pytestmark = pytest.mark.anyio

INTERVAL = 0.05
SLACK = 0.002
"""uvloop's clock counts whole milliseconds."""


@pytest.fixture
def anyio_backend(asyncio_and_uvloop):
    return asyncio_and_uvloop  # both event loops (tests/conftest.py)


async def _until(condition, limit: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not condition():
        assert loop.time() < end, "the tick never came"
        await asyncio.sleep(INTERVAL / 10)


async def test_callbacks_run_together_at_the_next_tick_in_order():
    loop = asyncio.get_running_loop()
    ticker = SharedTick(INTERVAL)
    calls: list[tuple[str, float]] = []
    assert ticker.next_tick is None
    before = loop.time()
    ticker.at_next("a", lambda: calls.append(("a", loop.time())))
    first = ticker.next_tick
    assert first is not None and before + INTERVAL - SLACK <= first <= loop.time() + INTERVAL
    await asyncio.sleep(INTERVAL / 5)
    ticker.at_next("b", lambda: calls.append(("b", loop.time())))
    ticker.at_next("a", lambda: calls.append(("a2", loop.time())))  # replaces a's callback
    ticker.at_next("c", lambda: calls.append(("c", loop.time())))
    ticker.cancel("c")
    ticker.cancel("nobody")  # harmless
    assert ticker.next_tick == first  # later waits end at the same tick
    assert calls == [] and len(ticker) == 2  # nothing runs inside the caller
    await _until(lambda: calls)
    # Both ran in the one callback the loop made (nothing else ran in between).
    assert [name for name, _ in calls] == ["a2", "b"]  # a's place, b after it
    assert calls[0][1] >= first - SLACK
    assert len(ticker) == 0 and ticker.next_tick is None
    await asyncio.sleep(2 * INTERVAL)
    assert len(calls) == 2  # nothing more without asking


async def test_ticks_stay_an_interval_apart_while_busy():
    loop = asyncio.get_running_loop()
    ticker = SharedTick(INTERVAL)
    ticks: list[float] = []
    planned: list[float | None] = []

    def again() -> None:
        ticks.append(loop.time())
        if len(ticks) < 4:
            # Registered late in the interval: the next tick is still one interval after
            # this one, not one interval after the registration.
            loop.call_later(INTERVAL / 2, register)

    def register() -> None:
        ticker.at_next("x", again)
        planned.append(ticker.next_tick)

    register()
    await _until(lambda: len(ticks) == 4)
    for tick, plan in zip(ticks[:-1], planned[1:], strict=True):
        assert plan is not None
        # The plan is one interval after the tick as the ticker saw it (the loop's time
        # when the tick ran, which is no later than ``tick`` as recorded in it).
        assert plan <= tick + INTERVAL + SLACK
        assert plan > tick + INTERVAL / 2  # not "now" either: the rest of the interval


async def test_an_idle_ticker_waits_a_whole_interval_from_the_first_registration():
    loop = asyncio.get_running_loop()
    ticker = SharedTick(INTERVAL)
    ticked: list[float] = []
    ticker.at_next("x", lambda: ticked.append(loop.time()))
    await _until(lambda: ticked)
    await asyncio.sleep(3 * INTERVAL)  # idle for longer than an interval
    start = loop.time()
    ticker.at_next("y", lambda: ticked.append(loop.time()))
    planned = ticker.next_tick
    assert planned is not None and planned >= start + INTERVAL - SLACK
    await _until(lambda: len(ticked) == 2)
    assert ticked[1] >= planned - SLACK


async def test_cancelling_the_last_callback_stops_the_timer():
    ticker = SharedTick(INTERVAL)
    calls: list[str] = []
    ticker.at_next("a", lambda: calls.append("a"))
    ticker.at_next("b", lambda: calls.append("b"))
    ticker.cancel("a")
    assert ticker.next_tick is not None  # b still waits
    ticker.cancel("b")
    assert ticker.next_tick is None
    await asyncio.sleep(2 * INTERVAL)
    assert calls == []
    ticker.at_next("c", lambda: calls.append("c"))  # works again afterwards
    await _until(lambda: calls)
    assert calls == ["c"]


async def test_a_failing_callback_is_logged_and_the_others_run(caplog):
    caplog.set_level(logging.ERROR, "headwater.tick")
    ticker = SharedTick(INTERVAL)
    calls: list[str] = []

    def bad() -> None:
        raise RuntimeError("boom")

    ticker.at_next("bad", bad)
    ticker.at_next("good", lambda: calls.append("good"))
    await _until(lambda: calls)
    assert calls == ["good"]
    assert any("tick callback failed" in r.getMessage() for r in caplog.records)


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        SharedTick(0)
