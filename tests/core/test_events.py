"""Event sinks (Flussonic's ``event_sinks``): an HTTP handler started by the test gets the
events in order; filters, retry after failures, the bounded queue, and JSON-lines files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from core_helpers import (
    PUBLISH,
    Reply,
    audio,
    core_server,
    eventually,
    http_peer,
    request,
    video,
)

from headwater import PublishRejected
from headwater.config import validate_document
from headwater.config.models import EventSinkSettings
from headwater.events import EventBus, event_matches
from headwater.events.sinks import HttpSink

CHATS = {"name": "chats", "prefixes": ["chats"], "inputs": PUBLISH, "password": "mypass"}


def ok(method: str, path: str, body: bytes) -> Reply:
    return Reply(200)


def received(peer: Any) -> list[dict[str, Any]]:
    return [event for req in peer.requests for event in req.get("json", [])]


@pytest.mark.anyio
async def test_http_sink_gets_publish_refuse_and_leave_in_order() -> None:
    with http_peer(ok) as peer:
        config = {
            "templates": [CHATS],
            "event_sinks": [{"name": "hooks", "url": f"{peer.base}/events"}],
        }
        async with core_server(config) as hw:
            with pytest.raises(PublishRejected):
                async with hw.server.publish(request("chats/a", password="wrong")):
                    pass
            async with hw.server.publish(request("chats/a", password="mypass")) as pub:
                for i in range(20):
                    pub.send(video(i))
                    pub.send(audio(i))
                await anyio.lowlevel.checkpoint()
            await eventually(lambda: len(received(peer)) >= 5)
    events = received(peer)
    assert [e["event"] for e in events] == [
        "publish_refused",
        "stream_opened",
        "source_connected",
        "source_closed",
        "stream_closed",
    ]
    refused, opened, connected, closed, stream_closed = events
    assert refused["media"] == "chats/a" and refused["reason"] == "wrong password"
    assert refused["refusal"] == "unauthorized" and refused["ip"] == "127.0.0.1"
    assert connected["proto"] == "test" and connected["ip"] == "127.0.0.1"
    assert closed["bytes"] > 0 and closed["reason"] == "publisher left"
    assert stream_closed["media"] == "chats/a" and opened["named_by"] == "user"
    ids = [e["event_id"] for e in events]
    assert ids == sorted(ids) and all(isinstance(e["utc_ms"], int) for e in events)
    assert all(r["path"] == "/events" and r["method"] == "POST" for r in peer.requests)


@pytest.mark.anyio
async def test_only_and_except_filters() -> None:
    with http_peer(ok) as peer:
        config = {
            "templates": [CHATS],
            "event_sinks": [
                {
                    "url": f"{peer.base}/e",
                    "only": [{"event": ["source_*", "publish_refused"]}],
                    "except": [{"event": ["source_connected"]}],
                }
            ],
        }
        async with core_server(config) as hw:
            with pytest.raises(PublishRejected):
                async with hw.server.publish(request("chats/a")):
                    pass
            async with hw.server.publish(request("chats/a", password="mypass")):
                pass
            await eventually(lambda: len(received(peer)) >= 2)
            await anyio.sleep(0.2)
    assert [e["event"] for e in received(peer)] == ["publish_refused", "source_closed"]


FILTERS = [
    ({"event": "a"}, None, None, True),
    ({"event": "a"}, [{"event": ["b"]}], None, False),
    ({"event": "a", "media": "x"}, [{"event": ["a"], "media": ["x", "y"]}], None, True),
    ({"event": "a"}, [{"event": ["a"], "media": ["x"]}], None, False),
    ({"event": "source_closed"}, [{"event": ["source_*"]}], None, True),
    ({"event": "a", "media": "x"}, None, [{"event": ["a"], "media": ["y"]}], True),
    ({"event": "a", "media": "x"}, None, [{"event": ["a"]}, {"media": ["x"]}], False),
    ({"event": "a"}, [], [], True),
]


@pytest.mark.parametrize(("event", "only", "except_", "taken"), FILTERS)
def test_filter_table(event: dict, only: Any, except_: Any, taken: bool) -> None:
    assert event_matches(event, only, except_) is taken


async def deliver_ticks(settings: EventSinkSettings, count: int, gap: float = 0.0) -> None:
    """Run one sink, emit ``count`` ``tick`` events ``gap`` seconds apart (emitting returns
    at once, whatever the sink does), and wait until the sink delivered them all."""
    bus = EventBus()
    async with anyio.create_task_group() as tg:
        bus.configure(tg, [settings])
        for i in range(count):
            bus.emit("tick", n=i)
            if gap:
                await anyio.sleep(gap)
        await eventually(lambda: bus.sinks[0].delivered == count)
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_a_failing_sink_is_retried_in_order_and_never_blocks() -> None:
    answers = iter([500, 500])

    def flaky(method: str, path: str, body: bytes) -> Reply:
        return Reply(next(answers, 200))

    with http_peer(flaky) as peer:
        await deliver_ticks(EventSinkSettings(url=f"{peer.base}/e", resend_timeout=1), 5)
    bodies = [r["json"] for r in peer.requests]
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2]
    assert [e["n"] for e in bodies[2]] == [0, 1, 2, 3, 4]


def test_the_queue_is_bounded_and_drops_the_oldest() -> None:
    sink = HttpSink(EventSinkSettings(url="http://127.0.0.1:9/", resend_limit=3))
    for i in range(10):
        sink.put({"event": "tick", "n": i})
    assert [e["n"] for e in sink.queue] == [7, 8, 9] and sink.dropped == 7


@pytest.mark.anyio
async def test_jsonlog_sink_writes_json_lines(tmp_path: Path) -> None:
    log = tmp_path / "events" / "all.jsonl"
    config = {"event_sinks": [{"name": "file", "url": f"jsonlog://{log}"}]}
    async with core_server(config) as hw:
        async with hw.server.publish(request("live/a")):
            pass
        await eventually(lambda: log.exists() and len(log.read_text().splitlines()) >= 4)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in lines] == [
        "stream_opened",
        "source_connected",
        "source_closed",
        "stream_closed",
    ]


def test_sink_urls_are_checked() -> None:
    with pytest.raises(Exception, match="a sink URL is http://, https:// or jsonlog://PATH"):
        validate_document({"event_sinks": [{"url": "ftp://x/"}]})
    with pytest.raises(Exception, match="text-log and Lua sinks are not supported"):
        validate_document({"event_sinks": [{"url": "log:///var/log/events.log"}]})
    with pytest.raises(Exception, match="same name"):
        validate_document(
            {"event_sinks": [{"name": "a", "url": "http://x/"}, {"name": "a", "url": "http://y/"}]}
        )


@pytest.mark.anyio
async def test_config_backend_errors_are_events() -> None:
    def down(method: str, path: str, body: bytes) -> Reply:
        return Reply(503)

    with http_peer(ok) as sink, http_peer(down) as backend:
        config = {
            "config_external": f"{backend.base}/cb/",
            "event_sinks": [{"url": f"{sink.base}/e", "only": [{"event": ["config_*"]}]}],
        }
        async with core_server(config) as hw:
            await eventually(lambda: received(sink))
            assert hw.server.tallies.backend_errors >= 1
    event = received(sink)[0]
    assert event["event"] == "config_external_error" and event["error"] == "HTTP 503"
    assert event["while"] == "refresh" and event["reason"] == "invalid_request"


@pytest.mark.anyio
async def test_a_broken_sink_is_logged_and_the_server_carries_on(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = {"event_sinks": [{"name": "bad", "url": f"jsonlog://{blocker}/events.jsonl"}]}
    async with core_server(config) as hw:
        async with hw.server.publish(request("live/a")):
            pass
        await eventually(
            lambda: any("event sink bad failed" in r.getMessage() for r in caplog.records)
        )
        async with hw.server.publish(request("live/b")) as pub:  # still serving
            assert pub.name == "live/b"


@pytest.mark.anyio
async def test_throttle_delay_gathers_events_into_one_batch() -> None:
    with http_peer(ok) as peer:
        await deliver_ticks(EventSinkSettings(url=f"{peer.base}/e", throttle_delay=0.3), 3, 0.02)
    assert [[e["n"] for e in r["json"]] for r in peer.requests] == [[0, 1, 2]]
