"""headwater-push: discovery, ``%s`` templates, redaction, back-off, the UDP-on-prefix rule
and the retry loop (with an in-test destination; the real RTMP push is in tests/e2e)."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import anyio
import pytest

from headwater import ConfigError, Stream
from headwater.config import validate_document
from headwater.config.models import StreamSettings
from headwater.plugins import make_plugin_manager, validate_plugin_sections
from headwater_push import plugin
from headwater_push.backoff import Backoff
from headwater_push.pusher import Push
from headwater_push.template import expand, redact, scheme


def test_entry_point_and_discovery() -> None:
    (ep,) = [e for e in importlib.metadata.entry_points(group="headwater") if e.name == "push"]
    assert ep.value == "headwater_push.plugin"
    pm = make_plugin_manager()
    hooks = {h.name for h in pm.get_hookcallers(pm.get_plugin("push"))}
    assert hooks == {"stream_started", "check_settings"}


EXPANSIONS = [
    ("rtmp://cdn/client43/%s", "chats/my/chat-15", "rtmp://cdn/client43/chats/my/chat-15"),
    ("rtmp://cdn/%s/%s", "a", "rtmp://cdn/a/a"),
    ("srt://cdn:9000?streamid=%s", "live/x", "srt://cdn:9000?streamid=live/x"),
    ("http://cdn/up%%20/%s", "cam", "http://cdn/up%20/cam"),
    ("rtmp://cdn/fixed", "cam", "rtmp://cdn/fixed"),
    ("rtmp://cdn/%d/%s%", "cam", "rtmp://cdn/%d/cam%"),
]


@pytest.mark.parametrize(("url", "name", "expected"), EXPANSIONS)
def test_template_expansion(url: str, name: str, expected: str) -> None:
    assert expand(url, name) == expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtmp://user:secret@cdn:1936/app/key?token=abc", "rtmp://cdn:1936/app/key"),
        ("srt://cdn:9000?passphrase=0123456789", "srt://cdn:9000"),
        ("UDP://239.0.0.1:1234", "udp://239.0.0.1:1234"),
    ],
)
def test_redaction_drops_credentials_and_query(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert "secret" not in redact(url) and "token" not in redact(url)


def test_scheme_is_lower_case() -> None:
    assert scheme("RTMPS://cdn/app") == "rtmps"


def test_backoff_doubles_to_its_ceiling_and_resets_after_a_good_run() -> None:
    backoff = Backoff(initial=1, ceiling=8, healthy_after=10)
    assert [backoff.next_delay(0.5) for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    assert backoff.next_delay(30) == 1
    assert backoff.next_delay(0) == 2


def _document(pushes: list[str], *, prefixes: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "t",
        "inputs": [{"url": "publish://"}],
        "pushes": [{"url": u} for u in pushes],
    }
    if prefixes:
        return {"templates": [{**entry, "prefixes": ["live"]}]}
    return {"streams": [entry]}


@pytest.mark.parametrize("url", ["udp://239.0.0.1:1234", "rtp://239.0.0.2:5000"])
def test_udp_push_on_a_prefix_is_refused_naming_the_key(url: str) -> None:
    pm = make_plugin_manager()
    with pytest.raises(ConfigError, match=r"^templates\.0\.pushes\.1\.url: a (udp|rtp):// push"):
        validate_plugin_sections(
            pm, validate_document(_document(["rtmp://cdn/%s", url], prefixes=True))
        )
    # the same push on a static stream is fine, as is an RTMP push on a prefix
    validate_plugin_sections(pm, validate_document(_document([url], prefixes=False)))
    validate_plugin_sections(pm, validate_document(_document(["rtmp://cdn/%s"], prefixes=True)))


def live_stream(settings: StreamSettings) -> Stream:
    stream = Stream("live/cam", settings, location="live")
    stream.begin({"proto": "test", "ip": "127.0.0.1", "port": 1})
    return stream


def test_stream_started_expands_each_enabled_push() -> None:
    settings = StreamSettings.model_validate(
        {
            "name": "t",
            "prefixes": ["live"],
            "pushes": [
                {"url": "rtmp://a/%s"},
                {"url": "rtmp://b/%s", "disabled": True},
                {"url": "rtmp://u:pw@c/x/%s"},
            ],
        }
    )
    stream = live_stream(settings)
    pushes = plugin.stream_started(None, stream, settings)  # type: ignore[arg-type]
    assert [p.url for p in pushes] == ["rtmp://a/live/cam", "rtmp://u:pw@c/x/live/cam"]
    assert [p.name for p in pushes] == ["push rtmp://a/live/cam", "push rtmp://c/x/live/cam"]
    assert [s["url"] for s in stream.publisher["pushes"]] == [
        "rtmp://a/live/cam",
        "rtmp://c/x/live/cam",
    ]


class FlakyTarget:
    """Fails ``failures`` times, then reads the subscription to its end."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0

    async def run(self, subscription: Any) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise ConnectionError(f"refused #{self.runs}")
        async for _frame in subscription:
            pass


class FakeServer:
    def __init__(self, target: object | None) -> None:
        self.target = target

    async def find_pusher(self, stream: Stream, url: str) -> object | None:
        return self.target


async def run_until_the_stream_ends(push: Push, stream: Stream) -> None:
    """Run ``push`` on the stream for 0.1 s, then end the publication and let it finish."""
    subscription = stream.open_subscription(push.name)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(push.run, subscription)
            await anyio.sleep(0.1)
            stream.finish()


@pytest.mark.anyio
async def test_a_failing_destination_is_retried_with_back_off_until_the_stream_ends() -> None:
    stream = live_stream(StreamSettings(name="t", prefixes=["live"]))
    target = FlakyTarget(failures=2)
    push = Push(FakeServer(target), stream, "rtmp://u:pw@cdn/app/live/cam", Backoff(0.01, 0.02))  # type: ignore[arg-type]
    await run_until_the_stream_ends(push, stream)
    assert target.runs == 3
    assert push.status["attempts"] == 3 and push.status["errors"] == 2
    assert push.status["state"] == "stopped"
    assert push.status["last_error"] == "ConnectionError: refused #2"
    assert push.status["url"] == "rtmp://cdn/app/live/cam"


@pytest.mark.anyio
async def test_a_url_no_plugin_claims_is_unsupported() -> None:
    stream = live_stream(StreamSettings(name="t", prefixes=["live"]))
    push = Push(FakeServer(None), stream, "gopher://x/%s")  # type: ignore[arg-type]
    with anyio.fail_after(5):
        await push.run(stream.open_subscription(push.name))
    assert push.status["state"] == "unsupported"


class Recorder:
    """An event bus double: remembers what was emitted."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, name: str, **fields: Any) -> None:
        self.events.append((name, fields))


@pytest.mark.anyio
async def test_each_attempt_emits_push_started_and_push_closed() -> None:
    stream = live_stream(StreamSettings(name="t", prefixes=["live"]))
    server = FakeServer(FlakyTarget(failures=1))
    server.events = Recorder()  # type: ignore[attr-defined]
    push = Push(server, stream, "rtmp://u:pw@cdn/app/%s", Backoff(0.01, 0.02))  # type: ignore[arg-type]
    await run_until_the_stream_ends(push, stream)
    events = server.events.events  # type: ignore[attr-defined]
    assert [name for name, _ in events] == [
        "push_started",
        "push_closed",
        "push_started",
        "push_closed",
    ]
    assert all(f["url"] == "rtmp://cdn/app/%s" and f["media"] == stream.name for _, f in events)
    assert events[1][1]["reason"] == "ConnectionError: refused #1"
    assert events[3][1]["reason"] == "stream ended"
