"""The byte budget hands freed buffers back to the system after an attack (issue 13)."""

from __future__ import annotations

from headwater.byte_budget import ByteBudget


class Holder:
    def budget_evicted(self, reason: str) -> None:
        pass


def test_release_runs_after_a_big_drop_or_when_all_is_given_back(monkeypatch):
    calls = []
    monkeypatch.setattr("headwater.byte_budget.trim_heap", lambda: calls.append(1) or True)
    budget = ByteBudget(1 << 30)
    a, b = Holder(), Holder()
    budget.take(a, 40 << 20)
    budget.take(b, 1 << 20)
    assert not budget.release_freed()  # nothing given back yet
    budget.give(a, 40 << 20)
    assert budget.release_freed() and len(calls) == 1  # 40 MiB went back
    assert not budget.release_freed()  # nothing more since
    budget.give(b, 1 << 20)
    assert budget.release_freed() and len(calls) == 2  # everything went back
    assert not budget.release_freed()


def test_regression_publishers_small_messages_do_not_trim_the_heap_every_second(monkeypatch):
    """RTMP publishers give back the few kilobytes of each message as it completes: with
    nothing held at a housekeeping tick, that alone used to trim the heap once a second."""
    calls = []
    monkeypatch.setattr("headwater.byte_budget.trim_heap", lambda: calls.append(1) or True)
    budget = ByteBudget(1 << 30)
    publishers = [Holder() for _ in range(10)]
    for _ in range(5):  # five housekeeping ticks
        for holder in publishers:
            budget.take(holder, 60_000)
        for holder in publishers:
            budget.give(holder, 60_000)
        assert budget.held == 0 and not budget.release_freed()
    assert calls == []


def test_trim_heap_reaches_glibc():
    import platform

    import pytest

    from headwater.byte_budget import trim_heap

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("malloc_trim is a glibc call")
    assert trim_heap() is True
