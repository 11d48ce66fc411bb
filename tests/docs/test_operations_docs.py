"""docs/flussonic.md, metrics.md and events.md against the code: every directive the
Flussonic reader handles, every metric family and every event emitted is documented, and
every Flussonic example parses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_markdown import ROOT, blocks, read
from prometheus_client.registry import CollectorRegistry

from headwater.config import validate_document
from headwater.config.flussonic import parse_flussonic
from headwater.config.flussonic.mapping import LISTENER_PROTOCOLS, UNSUPPORTED_GLOBAL, _Mapper
from headwater.metrics import FlussonicStreamCollector, metrics_registry
from headwater.server import Server
from headwater.stream import Stream


def handled_directives() -> set[str]:
    """Every directive name the Flussonic reader maps (global and inside blocks)."""
    names = {n[2:] for n in dir(_Mapper) if n.startswith(("g_", "s_"))}
    return names | set(LISTENER_PROTOCOLS) | set(UNSUPPORTED_GLOBAL)


@pytest.mark.parametrize("directive", sorted(handled_directives()))
def test_every_directive_is_in_the_tables(directive: str) -> None:
    assert re.search(rf"\| `{directive}[ ;`]", read("flussonic.md")), directive


def test_flussonic_examples_parse_without_warnings() -> None:
    examples = [b for b in blocks(read("flussonic.md")) if b.lang == "flussonic"]
    assert examples
    for block in examples:
        parsed = parse_flussonic(block.text)
        assert parsed.warnings == [], (block.line, parsed.warnings)
        validate_document(parsed.document)


def _families(registry: CollectorRegistry) -> set[str]:
    return {family.name for family in registry.collect()}


def test_every_metric_is_documented() -> None:
    server = Server(validate_document({}))
    stream = Stream("live/a")
    server.streams._streams["live/a"] = stream  # a stream in the registry, as a publisher makes
    flussonic = CollectorRegistry()
    flussonic.register(FlussonicStreamCollector(server))
    text = read("metrics.md")
    names = _families(flussonic) | {
        n for n in _families(metrics_registry(server)) if n.startswith("headwater_")
    }
    assert names
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert not missing, f"metrics.md does not document {missing}"


def emitted_events() -> set[str]:
    """Event names passed to ``emit``/``emit_event`` anywhere in the sources."""
    found: set[str] = set()
    for path in [*Path(ROOT, "core/src").rglob("*.py"), *Path(ROOT, "plugins").rglob("*.py")]:
        text = path.read_text("utf-8")
        found |= set(re.findall(r"\bemit(?:_event)?\(\s*[\w.]+,\s*\"(\w+)\"", text))
    return found


def test_every_event_is_documented() -> None:
    events = emitted_events()
    assert {"stream_opened", "publish_refused", "push_started"} <= events
    text = read("events.md")
    missing = sorted(e for e in events if f"| `{e}` |" not in text)
    assert not missing, f"events.md does not document {missing}"
