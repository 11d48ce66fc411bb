"""The listener's shared play timer (``headwater_rtmp.play_ticker``): one timer for every
player, turns in registration order, a failing turn does not stop the others, the timer
stops with the last player and starts again with the next."""

from __future__ import annotations

import asyncio
import logging

import pytest

from headwater_rtmp.play_ticker import PlayTicker

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def wait_until(condition, timeout: float = 5.0) -> None:
    """Poll ``condition`` every millisecond (timer tests must not depend on machine load)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (polling the timer is the point)
            await asyncio.sleep(0.001)


async def test_every_turn_each_tick_in_order_and_the_timer_stops_with_the_last():
    ticker = PlayTicker(0.01)
    calls: list[str] = []
    ticker.add("a", lambda: calls.append("a"))
    ticker.add("b", lambda: calls.append("b"))
    await wait_until(lambda: len(calls) >= 6)
    assert calls[:6] == ["a", "b"] * 3
    ticker.remove("a")
    ticker.remove("a")  # twice is harmless
    count = len(calls)
    await wait_until(lambda: len(calls) >= count + 3)
    assert calls[count:] == ["b"] * (len(calls) - count)
    ticker.remove("b")
    assert ticker._handle is None and len(ticker) == 0  # nothing scheduled: nobody plays
    ticker.add("c", lambda: calls.append("c"))
    await wait_until(lambda: calls[-1] == "c")
    ticker.remove("c")


async def test_a_failing_turn_is_logged_and_the_others_go_on(caplog):
    caplog.set_level(logging.ERROR, "headwater.rtmp")
    ticker = PlayTicker(0.01)
    calls: list[str] = []

    def bad() -> None:
        raise RuntimeError("boom")

    ticker.add("bad", bad)
    ticker.add("good", lambda: calls.append("good"))
    await wait_until(lambda: len(calls) >= 3)
    ticker.remove("bad")
    ticker.remove("good")
    assert sum("turn failed" in r.getMessage() for r in caplog.records) >= 3


async def test_turns_added_or_removed_during_a_tick_keep_one_timer():
    ticker = PlayTicker(0.05)
    loop = asyncio.get_running_loop()
    late: list[float] = []

    def first() -> None:
        ticker.remove("first")
        ticker.add("late", lambda: late.append(loop.time()))

    ticker.add("first", first)
    await wait_until(lambda: len(late) >= 3)
    ticker.remove("late")
    assert ticker._handle is None
    # one timer: a tick per interval (two timers would tick twice as often)
    assert late[2] - late[0] >= 0.09
