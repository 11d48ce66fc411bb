"""An in-process ``on_publish`` handler that takes its time (``python:slow_handlers:...``)."""

from __future__ import annotations

import anyio


async def slow_allow(**fields: object) -> bool:
    """Allow after a second: the RTSP control task waits on it meanwhile."""
    await anyio.sleep(1.0)
    return True
