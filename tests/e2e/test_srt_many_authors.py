"""End to end: Flussonic's "SRT publishing from many authors" workflow against headwater.

A config backend written here in the shape of the one in Flussonic's documentation (a
``http.server`` script answering Python literals, not JSON) issues each author a port and
a passphrase. The test opens the port range and the backend at run time with ``PUT
/streamer/api/v3/config``, then two authors publish at once on their own ports with their
own passphrases; a third port the backend does not know, and a wrong passphrase, are
refused in the SRT handshake.
"""

from __future__ import annotations

import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import httpx
import pytest
from test_srt_support import (
    Collector,
    LossyRelay,
    assert_same_frames,
    by_codec,
    publish_args,
    source_frames,
    srt_url,
)

from headwater.testing import run_ffmpeg, running_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

AUTH = ("admin", "secret")


def free_udp_range(count: int, start: int = 20000) -> int:
    """The first port of ``count`` consecutive free UDP ports on 127.0.0.1 (below the
    kernel's ephemeral range, so the test's own sockets do not collide with it)."""
    first = start
    while first + count <= 32768:
        socks = []
        try:
            for port in range(first, first + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return first
        except OSError:
            first = port + 1  # start again after the busy port
        finally:
            for s in socks:
                s.close()
    pytest.skip(f"no run of {count} free UDP ports below 32768")


class Backend:
    """The config backend: streams with passphrases, and port → stream name."""

    def __init__(self, ports: dict[int, tuple[str, str]]) -> None:
        self.ports = ports
        self.requests: list[str] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                backend.requests.append(self.path)
                url = urllib.parse.urlparse(self.path)
                if url.path.startswith("/config_backend/streams"):
                    streams = [
                        {
                            "name": name,
                            "inputs": [{"url": "publish://"}],
                            "srt_publish": {"passphrase": passphrase},
                        }
                        for name, passphrase in backend.ports.values()
                    ]
                    body, status = str({"streams": streams}), 200  # a Python literal
                elif url.path.startswith("/config_backend/srt_port_resolve/"):
                    port = int(url.path.rsplit("/", 1)[-1])
                    entry = backend.ports.get(port)
                    body, status = (entry[0], 200) if entry else ("unknown port", 404)
                else:
                    body, status = "not found", 404
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/config_backend/"

    def __enter__(self) -> Backend:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


async def test_many_authors_with_port_range_and_config_backend(test_media) -> None:
    clip = test_media("h264", "aac", "ts", seconds=2.0, size="160x120")
    first = free_udp_range(3)
    authors = {
        first: ("author_one", "first-passphrase"),
        first + 1: ("author_two", "second-secret"),
    }
    collector = Collector()
    config = {"edit_auth": {"login": AUTH[0], "password": AUTH[1]}}
    with Backend(authors) as backend:
        async with running_server(
            config, extra_plugins=[collector], protocols=("http", "srt")
        ) as hw:
            body = {
                "config_external": backend.url,
                "listeners": {
                    "srt": [
                        {
                            "host": "127.0.0.1",
                            "mode": "publish",
                            "ports": {"first": first, "last": first + 2},
                        }
                    ]
                },
            }
            async with httpx.AsyncClient(timeout=10, auth=AUTH) as client:
                response = await client.put(hw.http_url("streamer/api/v3/config"), json=body)
                assert response.status_code == 200, response.text
            assert [a[1] for a in hw.server.listeners.addresses("srt")] == [
                first,
                first + 1,
                first + 2,
            ]
            for _ in range(100):  # the backend's streams are polled at once, then every 5 s
                if {s.name for s in hw.server.backend_streams} == {"author_one", "author_two"}:
                    break
                await anyio.sleep(0.1)
            else:
                pytest.fail("the config backend's streams never arrived")

            relays: dict[int, LossyRelay] = {}
            results = {}

            async def author(port: int, passphrase: str) -> None:
                relays[port] = relay = LossyRelay(port)
                relay_port = await tg.start(relay.run)
                url = srt_url(relay_port, None, passphrase)
                results[port] = await run_ffmpeg(publish_args(clip, url), check=False)

            async with anyio.create_task_group() as tg:
                async with anyio.create_task_group() as authors_tg:
                    for port, (_, passphrase) in authors.items():
                        authors_tg.start_soon(author, port, passphrase)
                    # the unknown port and a wrong passphrase, meanwhile
                    unknown = await run_ffmpeg(
                        publish_args(clip, srt_url(first + 2, None, "any-passphrase")),
                        check=False,
                    )
                    wrong = await run_ffmpeg(
                        publish_args(clip, srt_url(first, None, "not-the-passphrase")),
                        check=False,
                    )
                await anyio.sleep(0.2)
                tg.cancel_scope.cancel()

    assert unknown.returncode != 0 and "ERROR:" in unknown.stderr.decode()
    assert wrong.returncode != 0 and "BADSECRET" in wrong.stderr.decode()
    source = source_frames(clip.read_bytes())
    for port, (name, passphrase) in authors.items():
        assert results[port].returncode == 0, results[port].stderr.decode()[-1000:]
        sent = source_frames(relays[port].expected_payload(passphrase))
        assert by_codec(collector.frames[name]) == by_codec(sent)
        assert_same_frames(collector.frames[name], source)
    assert set(collector.frames) == {"author_one", "author_two"}
    resolves = [r for r in backend.requests if "srt_port_resolve" in r]
    assert f"/config_backend/srt_port_resolve/{first}?mode=publish&host=127.0.0.1" in resolves
    assert any(r.startswith(f"/config_backend/srt_port_resolve/{first + 2}?") for r in resolves)


async def test_a_range_of_ten_thousand_ports(test_media) -> None:
    """The documented range of 10,000 ports opens (open-files limit raised as needed) and an
    author on its last port publishes."""
    clip = test_media("h264", "aac", "ts", seconds=2.0, size="160x120")
    first = free_udp_range(10_000)
    last = first + 9_999
    collector = Collector()
    with Backend({last: ("far_author", "far-passphrase")}) as backend:
        config = {
            "config_external": backend.url,
            "listeners": {
                "srt": [
                    {
                        "host": "127.0.0.1",
                        "mode": "publish",
                        "ports": {"first": first, "last": last},
                    }
                ]
            },
        }
        async with running_server(config, extra_plugins=[collector]) as hw:
            addresses = hw.server.listeners.addresses("srt")
            assert len(addresses) == 10_000 and addresses[-1] == ("127.0.0.1", last)
            for _ in range(100):
                if hw.server.backend_streams:
                    break
                await anyio.sleep(0.1)
            result = await run_ffmpeg(
                publish_args(clip, srt_url(last, None, "far-passphrase")), check=False
            )
            await anyio.sleep(0.2)
    assert result.returncode == 0, result.stderr.decode()[-1000:]
    assert_same_frames(collector.frames["far_author"], source_frames(clip.read_bytes()))
