"""The hello listener: the socket side of the line protocol, kept thin.

One connection is one command. ``PUBLISH`` goes through ``server.publish`` (naming,
authorization, recording and pushes are the core's business) and turns each further line
into a frame; ``PLAY`` goes through ``server.play`` and writes the frames back as lines.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketStream, TaskStatus

from headwater import (
    Codec,
    Frame,
    ListenerSettings,
    MediaKind,
    PlayRejected,
    PlayRequest,
    ProtocolError,
    PublishRejected,
    PublishRequest,
    Server,
    Track,
)
from headwater_hello.settings import SECTION
from headwater_hello.wire import Command, LineReader, parse_command

log = logging.getLogger("headwater.hello")

CLOCK = 90_000
"""headwater timestamps are 90 kHz ticks."""


class HelloListener:
    """Accepts hello connections on one address."""

    name = "hello"

    def __init__(self, server: Server, settings: ListenerSettings) -> None:
        self.server = server
        self.settings = settings
        self.addresses: list[tuple[str, int]] = []

    async def serve(self, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
        """Bind, report the bound address, then accept connections until cancelled."""
        host, port = self.settings.address
        listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
        async with listener:
            self.addresses = [
                sock.extra(SocketAttribute.local_address)[:2] for sock in listener.listeners
            ]
            task_status.started(self.addresses)
            await listener.serve(self.handle)

    async def handle(self, client: SocketStream) -> None:
        """One connection past the core's connection limits: read the command, then publish
        or play."""
        peer = client.extra(SocketAttribute.remote_address)[:2]
        gate = self.server.connection_limits.gate(self.name)
        if not gate.admit(*peer):  # refused (logged and counted by the gate)
            await client.aclose()
            return
        try:
            await self._serve_client(client, peer)
        finally:
            gate.release(peer[0])

    async def _serve_client(self, client: SocketStream, peer: tuple[str, int]) -> None:
        reader = LineReader(self.server.plugin_settings[SECTION].max_line)
        async with client:
            try:
                with anyio.fail_after(self.server.settings.limits.handshake_timeout):
                    lines: list[bytes] = []
                    while not lines:
                        lines = reader.feed(await client.receive())
                command = parse_command(lines[0])
                if command.verb == "PUBLISH":
                    await self.publish(client, command, peer, reader, lines[1:])
                else:
                    await self.play(client, command, peer)
            except (ProtocolError, TimeoutError, anyio.EndOfStream) as exc:
                log.info("hello client %s:%s closed: %s", *peer, str(exc) or type(exc).__name__)
            except anyio.BrokenResourceError:
                pass

    async def publish(
        self,
        client: SocketStream,
        command: Command,
        peer: tuple[str, int],
        reader: LineReader,
        pending: list[bytes],
    ) -> None:
        """Publish every line after the command as one frame of a data track."""
        port = self.addresses[0][1] if self.addresses else 0
        request = PublishRequest(
            proto="hello", path=command.path, args=command.args, peer=peer, local_port=port
        )
        try:
            async with self.server.publish(request) as publication:
                await client.send(f"OK {publication.name}\n".encode())
                track = Track(id=1, codec=Codec.DATA, kind=MediaKind.DATA)
                started = time.monotonic()
                while True:
                    for line in pending:
                        pts = int((time.monotonic() - started) * CLOCK)
                        publication.send(Frame(track, pts, pts, keyframe=True, data=line))
                    data = await client.receive()
                    publication.add_bytes(len(data))
                    pending = reader.feed(data)
        except PublishRejected as exc:
            await client.send(f"ERROR {exc.refusal} {exc.reason}\n".encode())

    async def play(self, client: SocketStream, command: Command, peer: tuple[str, int]) -> None:
        """Send every frame of a live stream as a line until the publication ends."""
        request = PlayRequest(proto="hello", name=command.path.strip("/"), peer=peer)
        try:
            async with self.server.play(request) as subscription:
                await client.send(f"OK {request.name}\n".encode())
                async for frame in subscription:
                    await client.send(frame.data + b"\n")
        except PlayRejected as exc:
            await client.send(f"ERROR {exc.refusal} {exc.reason}\n".encode())
