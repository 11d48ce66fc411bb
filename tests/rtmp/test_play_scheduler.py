"""When RTMP players write (``headwater_rtmp.play_scheduler``): the turns asked for run
once, together, in the next loop iteration, in the order asked; asking twice before the run
gives one turn; a cancelled turn does not run; a failing turn does not stop the others."""

from __future__ import annotations

import asyncio
import logging

import pytest

from headwater_rtmp.play_scheduler import PlayScheduler

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_turns_run_once_together_in_the_next_iteration():
    scheduler = PlayScheduler()
    calls: list[str] = []
    scheduler.soon("a", lambda: calls.append("a"))
    scheduler.soon("b", lambda: calls.append("b"))
    scheduler.soon("a", lambda: calls.append("a"))  # already due: still one turn
    assert calls == [] and len(scheduler) == 2  # nothing runs inside the caller
    await asyncio.sleep(0)
    assert calls == ["a", "b"] and len(scheduler) == 0
    await asyncio.sleep(0)
    assert calls == ["a", "b"]  # nothing more without asking
    scheduler.soon("c", lambda: calls.append("c"))
    scheduler.soon("d", lambda: calls.append("d"))
    scheduler.cancel("c")
    scheduler.cancel("nobody")  # harmless
    await asyncio.sleep(0)
    assert calls == ["a", "b", "d"]


async def test_a_turn_that_asks_again_runs_in_the_following_iteration():
    scheduler = PlayScheduler()
    calls: list[int] = []

    def again() -> None:
        calls.append(len(calls))
        if len(calls) < 3:
            scheduler.soon("x", again)

    scheduler.soon("x", again)
    for expected in ([0], [0, 1], [0, 1, 2], [0, 1, 2]):
        await asyncio.sleep(0)
        assert calls == expected


async def test_a_failing_turn_is_logged_and_the_others_go_on(caplog):
    caplog.set_level(logging.ERROR, "headwater.rtmp")
    scheduler = PlayScheduler()
    calls: list[str] = []

    def bad() -> None:
        raise RuntimeError("boom")

    scheduler.soon("bad", bad)
    scheduler.soon("good", lambda: calls.append("good"))
    await asyncio.sleep(0)
    assert calls == ["good"]
    assert any("turn failed" in r.getMessage() for r in caplog.records)
