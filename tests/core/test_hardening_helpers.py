"""The core's hardening helpers (issue 13) without sockets: client text in the log, the
connection gate and the open-files budget, the byte budget."""

from __future__ import annotations

import logging
import resource

import pytest

from headwater.byte_budget import ByteBudget
from headwater.config.models import Limits
from headwater.connection_limits import ConnectionLimits, raise_open_files_limit
from headwater.log_text import MAX_LOG_LINE, LogFormatter, escape_controls, shown

FORGED = "cam\n2026-11-29 10:00:00,000 INFO    headwater.server: admin logged in\x00\x1b[2J"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("live/cam1", "'live/cam1'"),
        ("a\nb", "'a\\nb'"),
        ("nul\x00esc\x1b", "'nul\\x00esc\\x1b'"),
        ("line\u2028sep", "'line\\u2028sep'"),
        (b"\xff\n", "'ÿ\\n'"),
    ],
)
def test_shown_escapes(text, expected):
    assert shown(text) == expected


def test_shown_cuts_long_text_and_says_so():
    out = shown("x" * (4 << 20))
    assert out == "'" + "x" * 120 + "'... (cut, 4194304 characters)"
    assert shown(b"y" * 1000, limit=10).endswith("... (cut, 1000 bytes)")


def test_the_formatter_keeps_one_record_on_one_line():
    record = logging.LogRecord(
        "headwater.rtmp", logging.INFO, __file__, 1, "name %s", (FORGED,), None
    )
    line = LogFormatter().format(record)
    assert "\n" not in line and "\x00" not in line and "\x1b" not in line
    assert "\\x0a2026-11-29" in line
    big = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", ("z" * 100_000,), None)
    assert len(LogFormatter().format(big)) < MAX_LOG_LINE + 100


def test_the_formatter_keeps_a_traceback_of_our_own_bug_readable():
    try:
        raise RuntimeError("bug")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    text = LogFormatter().format(record)
    assert text.splitlines()[0].endswith("boom") and "Traceback" in text


def test_escape_controls_leaves_printable_text_alone():
    assert escape_controls("live/cam-1_ok é") == "live/cam-1_ok é"


def limits(**kw) -> Limits:
    return Limits(**kw)


def test_gate_counts_per_listener_and_per_address():
    lim = limits(max_connections=3, max_connections_per_ip=2)
    cl = ConnectionLimits(lambda: lim, open_files=10_000)
    rtmp, http = cl.gate("rtmp"), cl.gate("http")
    assert rtmp.admit("10.0.0.1") and rtmp.admit("10.0.0.1")
    assert not rtmp.admit("10.0.0.1")  # per address
    assert rtmp.admit("10.0.0.2")
    assert not rtmp.admit("10.0.0.3")  # per listener
    assert http.admit("10.0.0.1")  # another listener has its own counts
    assert rtmp.stats() == {"open": 3, "refused": 2, "addresses": 2}
    rtmp.release("10.0.0.1")
    assert rtmp.admit("10.0.0.3")
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        rtmp.release(ip)
    http.release("10.0.0.1")
    assert cl.files.open == 0 and not rtmp.per_ip


def test_gate_keeps_descriptors_in_reserve(caplog):
    lim = limits(reserved_fds=100)
    cl = ConnectionLimits(lambda: lim, open_files=105)
    gate = cl.gate("http")
    assert all(gate.admit(f"10.0.0.{i}") for i in range(5))
    assert not gate.admit("10.0.0.9")
    assert not gate.admit("10.0.0.9")
    lines = [r.getMessage() for r in caplog.records if r.name == "headwater.limits"]
    assert len(lines) == 1  # a flood of refusals is one line per LOG_EVERY seconds
    assert "open-files limit (105, 100 reserved)" in lines[0]


def test_open_files_limit_is_raised_to_the_hard_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        if hard != resource.RLIM_INFINITY and hard > 256:
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
            assert raise_open_files_limit() == hard
            assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Holder:
    def __init__(self, budget: ByteBudget) -> None:
        self.budget = budget
        self.reason = ""

    def budget_evicted(self, reason: str) -> None:
        self.reason = reason


def test_byte_budget_evicts_the_biggest_holder():
    budget = ByteBudget(1000)
    a, b, c = Holder(budget), Holder(budget), Holder(budget)
    assert budget.take(a, 600) and budget.take(b, 300)
    assert budget.take(c, 200)  # a (600) is evicted to make room
    assert "had waited longest" in a.reason and budget.held == 500
    budget.give(a, 600)  # an evicted holder's give is ignored: its bytes went back already
    assert budget.held == 500
    assert not budget.take(c, 900)  # c would be the biggest itself: refused
    assert budget.held == 300 and budget.holders == 1


def test_json_logs_are_one_line_and_cut_too():
    import json

    from headwater.log_format import JsonFormatter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (FORGED + "z" * 5000,), None)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    message = json.loads(line)["message"]
    assert message.startswith("cam\n2026") and message.endswith("characters)")
    assert len(message) < MAX_LOG_LINE + 100
