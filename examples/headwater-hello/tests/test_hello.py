"""Tests of headwater-hello: the wire alone, then the plugin in a real server.

``headwater.testing`` (installed with headwater, loaded by pytest automatically) gives
``running_server``: a real server in the test's event loop, every listener on 127.0.0.1
and a free port.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import anyio
import httpx
import pytest
from headwater_hello import plugin
from headwater_hello.wire import LineReader, parse_command
from hypothesis import given
from hypothesis import strategies as st

from headwater import ConfigError, ProtocolError, PublishRejected, PublishRequest, Refusal
from headwater.config import validate_document
from headwater.plugins import make_plugin_manager, validate_plugin_sections
from headwater.testing import RunningServer, running_server, wait_for_stream

CONFIG = {
    "listeners": {
        "http": [{"host": "127.0.0.1", "port": 0}],
        "hello": [{"host": "127.0.0.1", "port": 0}],
    },
    "templates": [
        {"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}], "password": "pw"},
        {
            "name": "studio",
            "prefixes": ["studio"],
            "inputs": [{"url": "publish://"}],
            "hello_protocols": ["rtmp"],
        },
    ],
    "hello": {"greeting": "hi"},
}


# -- the wire, without sockets ---------------------------------------------------------------


def test_lines_are_split_whole_and_byte_by_byte() -> None:
    data = b"PUBLISH live/a?password=pw\r\none\ntwo\npart"
    whole = LineReader(64).feed(data)
    reader = LineReader(64)
    bytewise = [line for i in range(len(data)) for line in reader.feed(data[i : i + 1])]
    assert whole == bytewise == [b"PUBLISH live/a?password=pw", b"one", b"two"]


def test_commands() -> None:
    assert parse_command(b"PUBLISH live/a?password=pw").args == {"password": "pw"}
    assert parse_command(b"PLAY live/a").path == "live/a"
    with pytest.raises(ProtocolError):
        parse_command(b"DELETE live/a")


@given(st.binary(max_size=300))
def test_any_input_gives_lines_or_a_protocol_error(data: bytes) -> None:
    reader = LineReader(32)
    try:
        for line in reader.feed(data):
            parse_command(line)
    except ProtocolError:
        pass


# -- the plugin ------------------------------------------------------------------------------


def test_the_hooks_are_valid() -> None:
    pm = make_plugin_manager(extra=[plugin], load_entry_points=False)
    hooks = {c.name for c in pm.get_hookcallers(plugin) or []}
    assert hooks == {
        "settings_sections",
        "check_settings",
        "listen",
        "http_routes",
        "authorize",
        "stream_started",
    }


def test_check_settings_names_the_key() -> None:
    doc = {"streams": [{"name": "a", "hello_protocols": "rtmp"}]}
    settings = validate_document(doc)
    pm = make_plugin_manager(extra=[plugin], load_entry_points=False)
    with pytest.raises(ConfigError, match=r"streams\.0\.hello_protocols: expected a list"):
        validate_plugin_sections(pm, settings)


def hello_server() -> AbstractAsyncContextManager[RunningServer]:
    """A real server with this plugin: the module imported here, not an installed copy.

    Disabling the entry point ``hello`` keeps an installed copy (``pip install -e .``) from
    being registered a second time.
    """
    return running_server(CONFIG, extra_plugins=[plugin], disabled_plugins=["hello"])


async def send_command(port: int, line: str) -> tuple[anyio.abc.SocketStream, bytes]:
    client = await anyio.connect_tcp("127.0.0.1", port)
    await client.send(line.encode() + b"\n")
    return client, await client.receive()


@pytest.mark.anyio
async def test_publish_play_count_and_greet() -> None:
    async with hello_server() as hw:
        port = hw.port("hello")
        publisher, answer = await send_command(port, "PUBLISH live/cam1?password=pw")
        assert answer == b"OK live/cam1\n"
        async with publisher:
            await publisher.send(b"first\n")
            await wait_for_stream(hw.server, "live/cam1")
            player, answer = await send_command(port, "PLAY live/cam1")
            async with player:
                await publisher.send(b"second\nthird\n")
                received = answer
                with anyio.fail_after(5):
                    while received.count(b"\n") < 4:
                        received += await player.receive()
                assert received == b"OK live/cam1\nfirst\nsecond\nthird\n"
                async with httpx.AsyncClient() as http:
                    with anyio.fail_after(5):
                        while True:
                            body = (await http.get(hw.http_url("hello"))).json()
                            if body["streams"].get("live/cam1") == 3:
                                break
                            await anyio.sleep(0.02)
        assert body == {"greeting": "hi", "streams": {"live/cam1": 3}}


@pytest.mark.anyio
async def test_refusals_reach_the_client() -> None:
    async with hello_server() as hw:
        port = hw.port("hello")
        for line, expected in [
            ("PUBLISH live/cam1?password=nope", b"ERROR unauthorized wrong password\n"),
            ("PUBLISH studio/a", b"ERROR forbidden publishing over hello is not allowed here\n"),
            ("PUBLISH elsewhere/a", b"ERROR not_found"),
            ("PLAY live/none", b"ERROR not_found"),
        ]:
            client, answer = await send_command(port, line)
            await client.aclose()
            assert answer.startswith(expected), (line, answer)


@pytest.mark.anyio
async def test_authorize_lets_listed_protocols_through() -> None:
    async with hello_server() as hw:
        request = PublishRequest(proto="rtmp", path="studio/a", peer=("127.0.0.1", 5000))
        async with hw.server.publish(request) as publication:
            assert publication.name == "studio/a"
        with pytest.raises(PublishRejected) as refused:
            request = PublishRequest(proto="srt", path="studio/a", peer=("127.0.0.1", 5000))
            async with hw.server.publish(request):
                pass
        assert refused.value.refusal is Refusal.FORBIDDEN
