"""The collector policy of ``headwater serve``: startup heap frozen, young threshold raised."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_process import serve, stop
from core_helpers import installed_plugins

from headwater import gc_policy


@pytest.fixture
def restore_gc() -> Iterator[None]:
    """Put the test process's collector back as it was."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_apply_freezes_the_heap_and_raises_only_the_young_threshold(restore_gc: None) -> None:
    _young, older, oldest = gc.get_threshold()
    alive = [[n] for n in range(1000)]  # containers that exist when the policy is applied
    frozen = gc_policy.apply()
    assert frozen == gc.get_freeze_count() >= len(alive)
    assert gc.get_threshold() == (gc_policy.YOUNG_THRESHOLD, older, oldest)
    assert gc_policy.YOUNG_THRESHOLD > 700  # CPython's default, which it exists to replace
    # a frozen object is never collected again, but new cycles still are
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
    assert gc.get_freeze_count() == frozen


def test_serve_applies_the_policy_once_its_listeners_are_open(tmp_path: Path) -> None:
    core_only = {"HEADWATER_PLUGINS__DISABLED": json.dumps(installed_plugins())}
    with serve(tmp_path / "data", "--log-level", "debug", env=core_only) as child:
        child.wait_for(r"^http listening on ", timeout=60)
        line = child.wait_for(
            r"gc: collected \d+, froze (\d+) startup objects; thresholds (.*)", timeout=60
        )
        assert int(line.group(1)) > 10_000  # imports, plugins, config: the startup heap
        assert line.group(2).startswith(f"({gc_policy.YOUNG_THRESHOLD}, ")
        assert stop(child) == 0
