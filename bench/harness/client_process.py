"""A publisher that is a child process (the bundled ffmpeg): run it until the stop."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence

from bench.harness.ingest import Run


async def run_until_stop(run: Run, cmd: Sequence[str], name: str = "ffmpeg") -> None:
    """Run ``cmd`` until the scenario's stop; an exit before it is a failure, with the
    process's own words. Terminated (then killed after 10 s) at the stop."""
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
            raise ConnectionError(f"{name} exited with {proc.returncode}: {err[-300:]}")
    finally:
        stopped.cancel()
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(exited, 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
