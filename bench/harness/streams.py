"""Small asyncio helpers the in-process clients share."""

from __future__ import annotations

import asyncio


async def close(writer: asyncio.StreamWriter) -> None:
    """Close and wait until the socket is really closed (at most 5 s, then abort)."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 5)
    except (TimeoutError, OSError):
        writer.transport.abort()


async def sleep_or_stop(stop: asyncio.Event, delay: float) -> bool:
    """Sleep ``delay`` seconds unless ``stop`` is set first; True when stopped."""
    if stop.is_set():
        return True
    if delay > 0:
        await asyncio.sleep(delay)
    return stop.is_set()
