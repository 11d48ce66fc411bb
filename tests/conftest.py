"""Suite-wide settings.

Under CI (``CI=true``) hypothesis runs derandomized: the same examples every run, so a
red build always means a change broke something; locally it explores new examples each
run, which is where fuzzing finds new bugs (they then become regression tests).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(params=["asyncio", "uvloop"])
def asyncio_and_uvloop(request: pytest.FixtureRequest) -> object:
    """An ``anyio_backend`` value for asyncio's own loop, then for uvloop (skipped where
    uvloop is absent): for tests of code that runs on both, since the server picks uvloop
    when it is installed. A module opts in with
    an ``anyio_backend`` fixture that returns this one.
    """
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
        return ("asyncio", {"use_uvloop": True})
    return "asyncio"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test two more tries.

    Many tests run real encoders, browsers and servers against each other, or time
    watchdogs, on a shared 2-core machine, where a scheduling stall can starve one side
    for seconds. A real defect still fails all three tries (hypothesis is derandomized
    under CI, so its examples repeat), and every retry is named in the summary (see
    below), so flakiness stays visible instead of hidden.
    """
    for item in items:
        item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=1))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List every retried, failed or erroring test on one short line each.

    Under CI pytest prints whole assertion messages in its own summary, which can bury
    the test's name; this list is short enough to survive a truncated log.
    """
    for kind in ("rerun", "failed", "error"):
        for report in terminalreporter.stats.get(kind, []):
            crash = getattr(report.longrepr, "reprcrash", None)
            message = (crash.message if crash else str(report.longrepr)).splitlines()
            first = message[0][:160] if message else ""
            terminalreporter.write_line(f"{kind.upper()} {report.nodeid}: {first}")
