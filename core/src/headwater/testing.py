"""Test helpers for headwater and its plugins (a pytest plugin, loaded automatically).

``running_server`` starts a real server in the test's event loop with every listener on
127.0.0.1 and an ephemeral port; ``make_media`` makes a clip with the ``imageio-ffmpeg``
ffmpeg; ``read_packets`` lists a file's or URL's packets through ffmpeg's ``framecrc``
muxer, so tests compare what went in with what came out.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from headwater.config.loading import validate_document
from headwater.server import Server

DEFAULT_PROTOCOLS = ("http", "rtmp", "rtsp", "srt")

DEFAULT_TEST_TEMPLATE = {"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}]}


def ffmpeg_exe() -> str:
    """Path of the ffmpeg shipped by the ``imageio-ffmpeg`` wheel."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class RunningServer:
    """A server started by :func:`running_server`, with helpers to reach it."""

    server: Server

    def port(self, proto: str) -> int:
        """The bound port of the first listener of ``proto``."""
        addresses = self.server.listeners.addresses(proto)
        if not addresses:
            raise LookupError(f"no {proto} listener is running")
        return addresses[0][1]

    def url(self, proto: str, path: str = "") -> str:
        """A URL of this server for ``proto`` (``rtmp://127.0.0.1:PORT/path``)."""
        scheme = {"http": "http", "rtmps": "rtmps"}.get(proto, proto)
        return f"{scheme}://127.0.0.1:{self.port(proto)}/{path.lstrip('/')}"

    def http_url(self, path: str = "") -> str:
        """A URL on the HTTP listener."""
        return self.url("http", path)


def complete_test_config(
    config: dict[str, Any] | None = None, protocols: Iterable[str] = DEFAULT_PROTOCOLS
) -> dict[str, Any]:
    """Complete a config for tests: listeners on 127.0.0.1:0, a ``live`` template by default."""
    doc = copy.deepcopy(config or {})
    if "listeners" not in doc:
        doc["listeners"] = {p: [{"host": "127.0.0.1", "port": 0}] for p in protocols}
    if "streams" not in doc and "templates" not in doc:
        doc["templates"] = [dict(DEFAULT_TEST_TEMPLATE)]
    doc.setdefault("limits", {})
    return doc


@asynccontextmanager
async def running_server(
    config: dict[str, Any] | None = None,
    *,
    extra_plugins: Sequence[object] = (),
    disabled_plugins: Sequence[str] = (),
    data_dir: str | Path | None = None,
    protocols: Iterable[str] = DEFAULT_PROTOCOLS,
) -> AsyncIterator[RunningServer]:
    """Run a real server on ephemeral loopback ports for the duration of the block."""
    doc = complete_test_config(config, protocols)
    own_dir = None
    if data_dir is None and "data_dir" not in doc:
        own_dir = tempfile.mkdtemp(prefix="headwater-test-")
        doc["data_dir"] = own_dir
    elif data_dir is not None:
        doc["data_dir"] = str(data_dir)
    if disabled_plugins:
        doc.setdefault("plugins", {})["disabled"] = list(disabled_plugins)
    settings = validate_document(doc)
    server = Server(settings, extra_plugins=tuple(extra_plugins))
    server.listeners.announce = False
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(server.serve)
            try:
                yield RunningServer(server)
            finally:
                server.stop()
                tg.cancel_scope.cancel()
    finally:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)


async def wait_for_stream(
    server: Server, name: str, *, timeout: float = 10.0, frames: int = 1
) -> None:
    """Wait until ``name`` is live and has received at least ``frames`` frames."""
    with anyio.fail_after(timeout):
        while True:
            stream = server.streams.get(name)
            if stream is not None and stream.live and stream.stats.frames_in >= frames:
                return
            await anyio.sleep(0.05)


def make_media(
    path: str | Path,
    *,
    seconds: float = 4.0,
    video: str | None = "h264",
    audio: str | None = "aac",
    container: str | None = None,
    fps: int = 25,
    gop: int = 25,
    size: str = "320x240",
    bframes: int = 2,
    extra: Sequence[str] = (),
) -> Path:
    """Make a test clip with the bundled ffmpeg (testsrc2 video, a sine tone).

    ``video``: ``h264``, ``h265`` or None; ``audio``: ``aac``, ``mp3``, ``mp2``, ``ac3``,
    ``opus`` or None; ``container``: an ffmpeg muxer name (default from the extension).
    """
    path = Path(path)
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-t", str(seconds)]
    if video == "h264":
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(gop)]
        args += ["-bf", str(bframes), "-pix_fmt", "yuv420p"]
        if bframes:
            args += ["-x264-params", f"bframes={bframes}:rc-lookahead=0:sync-lookahead=0"]
    elif video == "h265":
        args += ["-c:v", "libx265", "-preset", "ultrafast", "-g", str(gop), "-pix_fmt", "yuv420p"]
        args += ["-x265-params", f"log-level=error:keyint={gop}:bframes={bframes}"]
        args += ["-tag:v", "hvc1"] if path.suffix in (".mp4", ".mov") else []
    elif video:
        raise ValueError(f"unsupported test video codec {video!r}")
    codecs = {"aac": "aac", "mp3": "libmp3lame", "mp2": "mp2", "ac3": "ac3", "opus": "libopus"}
    if audio:
        args += ["-c:a", codecs[audio], "-b:a", "96k", "-ac", "2"]
    if container:
        args += ["-f", container]
    args += [*extra, str(path)]
    subprocess.run(args, check=True, timeout=120)
    return path


@dataclass(frozen=True, slots=True)
class Packet:
    """One packet as ffmpeg's framecrc muxer lists it (timestamps in the stream time base)."""

    stream: int
    dts: int
    pts: int
    duration: int
    size: int
    crc: str
    keyframe: bool


def parse_framecrc(text: str) -> tuple[list[Packet], dict[str, str]]:
    """Parse framecrc output into packets and the header lines (``tb 0``, ``codec_id 0``...)."""
    packets = []
    header: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header[key.strip()] = value.strip()
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 6:
            continue
        flags = 1
        for extra in fields[6:]:
            if extra.startswith("F="):
                flags = int(extra[2:], 16)
        packets.append(
            Packet(
                int(fields[0]),
                int(fields[1]),
                int(fields[2]),
                int(fields[3]),
                int(fields[4]),
                fields[5],
                bool(flags & 1),
            )
        )
    return packets, header


def read_packets(
    source: str | Path,
    *,
    timeout: float = 60.0,
    input_args: Sequence[str] = (),
) -> tuple[list[Packet], dict[str, str]]:
    """Demux ``source`` (a file or URL) with ffmpeg and list its packets (stream copy)."""
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", *input_args, "-i", str(source)]
    args += ["-map", "0", "-c", "copy", "-f", "framecrc", "-"]
    done = subprocess.run(args, capture_output=True, timeout=timeout, text=True)
    if done.returncode != 0 and not done.stdout:
        raise RuntimeError(f"ffmpeg could not read {source}: {done.stderr.strip()[-500:]}")
    return parse_framecrc(done.stdout)


async def read_packets_async(
    source: str | Path, *, timeout: float = 60.0, input_args: Sequence[str] = ()
) -> tuple[list[Packet], dict[str, str]]:
    """:func:`read_packets` without blocking the event loop (the server runs in it)."""
    return await anyio.to_thread.run_sync(
        lambda: read_packets(source, timeout=timeout, input_args=input_args)
    )


async def run_ffmpeg(
    args: Sequence[str], *, timeout: float = 60.0, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run the bundled ffmpeg with ``args`` without blocking the event loop."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *args]
    with anyio.fail_after(timeout):
        return await anyio.run_process(cmd, check=check)


# -- pytest plugin -----------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    """headwater runs on asyncio (with uvloop where installed)."""
    return "asyncio"


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A per-session directory for generated test clips."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def test_media(media_dir: Path) -> Any:
    """A factory making (and caching per session) clips: ``test_media("h264", "aac", "flv")``."""
    cache: dict[tuple[Any, ...], Path] = {}

    def make(
        video: str | None = "h264",
        audio: str | None = "aac",
        ext: str = "flv",
        seconds: float = 4.0,
        **kw: Any,
    ) -> Path:
        key = (video, audio, ext, seconds, tuple(sorted(kw.items())))
        if key not in cache:
            name = f"{video or 'novideo'}-{audio or 'noaudio'}-{seconds:g}s-{len(cache)}.{ext}"
            cache[key] = make_media(
                media_dir / name, seconds=seconds, video=video, audio=audio, **kw
            )
        return cache[key]

    return make
