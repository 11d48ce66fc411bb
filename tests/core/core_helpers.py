"""Shared helpers of the core tests: synthetic frames, an isolated server, a tiny HTTP peer.

The core tests run the server with every installed protocol plugin disabled, so they prove
the core alone (and are not broken by a plugin being written next door).
"""

from __future__ import annotations

import importlib.metadata
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketStream, TaskStatus

from headwater import Codec, Frame, MediaKind, PublishRequest, Track, hookimpl
from headwater.plugins import ENTRY_POINT_GROUP
from headwater.testing import RunningServer, running_server

PUBLISH = [{"url": "publish://"}]

SPS = bytes.fromhex("6742c00bda0507ec044000000300400000030083c50aa8")
"""A real H.264 SPS (baseline, 320x240) made by the bundled x264."""
PPS = bytes.fromhex("68ce0fc8")

H264 = Track(1, Codec.H264, MediaKind.VIDEO, parameter_sets=(SPS, PPS), width=320, height=240)
AAC = Track(2, Codec.AAC, MediaKind.AUDIO, config=b"\x11\x90", sample_rate=48000, channels=2)


def installed_plugins() -> list[str]:
    """Names of every plugin installed through the ``headwater`` entry-point group."""
    return sorted({ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)})


def video(index: int, *, gop: int = 25, size: int = 100, track: Track = H264) -> Frame:
    """Video frame ``index`` of a synthetic 25 fps stream: a keyframe every ``gop`` frames.

    The first byte of the payload encodes the index so tests can tell frames apart.
    """
    key = index % gop == 0
    nal = bytes([0x65 if key else 0x41]) + index.to_bytes(4, "big") + b"\0" * max(size - 5, 0)
    ts = index * 3600
    return Frame(track, ts, ts, key, nalus=(nal,))


def audio(index: int, *, size: int = 50, track: Track = AAC) -> Frame:
    """Audio frame ``index`` (1024 samples at 48 kHz = 1920 ticks)."""
    ts = index * 1920
    return Frame(track, ts, ts, True, data=index.to_bytes(4, "big") + b"\0" * max(size - 4, 0))


def frame_index(frame: Frame) -> int:
    """The index a synthetic frame was made with."""
    if frame.nalus:
        return int.from_bytes(frame.nalus[0][1:5], "big")
    return int.from_bytes(frame.data[:4], "big")


def request(path: str, proto: str = "test", **args: str) -> PublishRequest:
    """A publish request from 127.0.0.1 for ``path`` with query ``args``."""
    return PublishRequest(
        proto=proto, path=path, args=dict(args), peer=("127.0.0.1", 40000), local_port=1935
    )


@asynccontextmanager
async def core_server(
    config: dict[str, Any] | None = None,
    *,
    extra_plugins: Sequence[object] = (),
    keep: Sequence[str] = (),
    disabled_plugins: Sequence[str] = (),
    **kw: Any,
) -> AsyncIterator[RunningServer]:
    """``running_server`` with only the HTTP listener and no installed plugin but ``keep``."""
    disabled = [p for p in installed_plugins() if p not in keep] + list(disabled_plugins)
    async with running_server(
        config, extra_plugins=extra_plugins, disabled_plugins=disabled, protocols=("http",), **kw
    ) as hw:
        yield hw


# -- a tiny HTTP peer (on_publish handler, config backend) -----------------------------------


@dataclass
class Reply:
    """What the test HTTP peer answers: status, body, headers, and an optional delay."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0
    """Seconds between header lines: a peer that answers, but too slowly to ever finish."""


@dataclass
class Peer:
    """A test HTTP server in a thread: records requests, answers from ``route``."""

    base: str
    requests: list[dict[str, Any]]
    route: Callable[[str, str, bytes], Reply]


@contextmanager
def http_peer(route: Callable[[str, str, bytes], Reply]) -> Iterator[Peer]:
    """Serve ``route(method, path, body) -> Reply`` on 127.0.0.1:0 in a thread."""
    seen: list[dict[str, Any]] = []
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            entry: dict[str, Any] = {"method": self.command, "path": self.path, "body": body}
            if body and "json" in (self.headers.get("content-type") or ""):
                entry["json"] = json.loads(body)
            seen.append(entry)
            reply = peer.route(self.command, self.path, body)
            if reply.delay:
                stop.wait(reply.delay)
            try:
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                for index in range(20 if reply.trickle else 0):
                    self.flush_headers()
                    if stop.wait(reply.trickle):
                        return
                    self.send_header(f"x-slow-{index}", "1")
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    peer = Peer(f"http://{host}:{port}", seen, route)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield peer
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


async def eventually(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait until ``predicate()`` is true, polling every 20 ms; fail after ``timeout``."""
    with anyio.fail_after(timeout):
        for _ in iter(int, 1):
            if predicate():
                return
            await anyio.sleep(0.02)


# -- a listener plugin driven by ``listeners.greet`` -----------------------------------------


class GreetingListener:
    """A TCP listener that greets every client with one line naming itself, then closes."""

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.addresses: list[tuple[str, int]] = []

    async def serve(self, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the address, greet clients until cancelled."""
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        self.addresses = [listener.extra(SocketAttribute.local_address)[:2]]

        async def greet(client: SocketStream) -> None:
            async with client:
                await client.send(f"hello from {self.name}\n".encode())

        task_status.started(self.addresses)
        async with listener:
            await listener.serve(greet)


class GreetPlugin:
    """A test plugin opening one :class:`GreetingListener` per ``listeners.greet`` entry."""

    __name__ = "greet-plugin"

    @hookimpl
    def listen(self, server: Any) -> list[GreetingListener]:
        return [
            GreetingListener("greet", e.host, e.port or 0)
            for e in server.settings.listeners.get("greet", [])
        ]


async def greeting(address: tuple[str, int]) -> bytes:
    """Connect to ``address`` and return what the greeting listener says."""
    with anyio.fail_after(5):
        async with await anyio.connect_tcp(*address) as client:
            return await client.receive()
