"""The attacks of issue 13 as small async clients, and a good ffmpeg publisher to run beside
them: every hostile test asserts the attacker is closed within its deadline, the server's
CPU and memory stay bounded, the log holds one escaped line, and the good stream lost
nothing."""

from __future__ import annotations

import logging
import resource
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from anyio.abc import SocketStream

from headwater.server import Server
from headwater.testing import read_packets, run_ffmpeg, wait_for_stream
from headwater_rtmp.wire import messages as m
from headwater_rtmp.wire.chunk_writer import ChunkWriter
from headwater_rtmp.wire.commands import encode_command

HANDSHAKE = 1536


async def rtmp_handshaken(port: int) -> SocketStream:
    """A TCP connection to the RTMP port that has completed the RTMP handshake."""
    sock = await anyio.connect_tcp("127.0.0.1", port)
    await sock.send(b"\x03" + bytes(HANDSHAKE))
    got = b""
    with anyio.fail_after(5):
        while len(got) < 1 + 2 * HANDSHAKE:
            got += await sock.receive()
    await sock.send(bytes(HANDSHAKE))
    return sock


def huge_message_header(length: int = 0xFFFFFF) -> bytes:
    """Set Chunk Size 0x7fffffff, then a type-0 chunk header announcing ``length`` bytes."""
    size = ChunkWriter().write(2, m.SET_CHUNK_SIZE, 0, 0, struct.pack(">I", 0x7FFFFFFF))
    return size + b"\x04\0\0\0" + length.to_bytes(3, "big") + b"\x09\x01\0\0\0"


def publish_commands(app: str, name: str, chunk_size: int = 0) -> bytes:
    """connect(app) + createStream + publish(name), as one write (after Set Chunk Size
    ``chunk_size`` when given, for names longer than a chunk)."""
    w = ChunkWriter()
    head = w.set_chunk_size(chunk_size) if chunk_size else b""
    connect = encode_command("connect", 1, {"app": app, "tcUrl": f"rtmp://127.0.0.1/{app}"})
    return (
        head
        + w.write(3, m.COMMAND_AMF0, 0, 0, connect)
        + w.write(3, m.COMMAND_AMF0, 0, 0, encode_command("createStream", 2, None))
        + w.write(8, m.COMMAND_AMF0, 1, 0, encode_command("publish", 3, None, name, "live"))
    )


async def closed_within(sock: SocketStream, seconds: float) -> float | None:
    """Seconds until the server closed ``sock`` (reading what it sends), or None."""
    start = time.monotonic()
    try:
        with anyio.fail_after(seconds):
            while await sock.receive():
                pass
    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError, OSError):
        return time.monotonic() - start
    except TimeoutError:
        return None
    return time.monotonic() - start


@dataclass
class Usage:
    """This process's CPU seconds and resident memory (the server runs in it)."""

    cpu: float = field(default_factory=lambda: _cpu())
    rss: int = field(default_factory=lambda: _rss())

    def since(self) -> tuple[float, int]:
        """(CPU seconds, RSS growth in bytes) since this snapshot."""
        return _cpu() - self.cpu, _rss() - self.rss


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


@asynccontextmanager
async def good_publisher(
    server: Server, url: str, name: str, clip: Path, output: tuple[str, ...] = ("-f", "flv")
) -> AsyncIterator[None]:
    """Publish ``clip`` in real time with ffmpeg (``output``: its muxer options, RTMP by
    default) during the block; afterwards check that the stream got every packet of the
    clip."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(run_ffmpeg, ["-re", "-i", str(clip), "-c", "copy", *output, url])
        await wait_for_stream(server, name, timeout=15, frames=5)
        yield
    stream = server.streams.get(name)
    assert stream is not None
    with anyio.fail_after(5):
        while stream.live:  # noqa: ASYNC110 (the server reads in batches: let it finish)
            await anyio.sleep(0.05)
    assert stream.stats.frames_in == len(read_packets(clip)[0]), "the good stream lost frames"


def lines(caplog, text: str) -> list[str]:
    """Log messages that contain ``text``."""
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def quiet_info(caplog) -> None:
    """Capture headwater's INFO lines (closes are logged at INFO)."""
    caplog.set_level(logging.INFO, "headwater")
