"""ffmpeg as a real-client publisher: one child process per publisher, in the bench
process's care (its CPU is not the server's).

The real-client scenarios publish with Debian's ffmpeg (``/usr/bin/ffmpeg``, as users of
the reference servers do) when it is installed, else with the ffmpeg the
``imageio-ffmpeg`` wheel ships; ``--ffmpeg PATH`` chooses another.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import imageio_ffmpeg

if TYPE_CHECKING:
    from bench.harness.ingest import Run

SYSTEM_FFMPEG = Path("/usr/bin/ffmpeg")
SPACING = 0.1
"""Seconds between two ffmpeg starts: 200 processes starting at once would swamp 2 cores
for longer than a warm-up (and burst to catch up with ``-re`` afterwards)."""


def ffmpeg_exe(choice: str | None = None) -> str:
    """The ffmpeg to publish with: ``choice``, else Debian's, else the bundled one."""
    if choice:
        found = shutil.which(choice)
        if found is None:
            raise FileNotFoundError(f"no ffmpeg at {choice}")
        return found
    if SYSTEM_FFMPEG.exists():
        return str(SYSTEM_FFMPEG)
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_version(exe: str) -> str:
    """The first words of ``ffmpeg -version`` (for the clip line of a table)."""
    try:
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return exe
    words = out.stdout.split()
    return f"{exe} {words[2]}" if len(words) > 2 else exe


async def publish(run: Run, exe: str, clip: Path, fmt: str, url: str) -> None:
    """Loop ``clip`` at real time (``-re -stream_loop -1 -c copy``) to ``url`` as ``fmt``
    until the stop; an exit before it is a failure, with ffmpeg's last words."""
    cmd = [exe, "-v", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", str(clip),
           "-c", "copy", "-f", fmt, url]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stopped = asyncio.create_task(run.stop.wait())
    exited = asyncio.create_task(proc.wait())
    try:
        await asyncio.wait([stopped, exited], return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            assert proc.stderr is not None
            err = (await proc.stderr.read()).decode(errors="replace").strip()
            raise ConnectionError(f"ffmpeg exited with {proc.returncode}: {err[-300:]}")
    finally:
        stopped.cancel()
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(exited, 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
