"""Endless FLV recordings of a stream into one file (``x-record`` from on_publish).

Frames are written as they arrive, in batches, and flushed after every batch, so the file
is complete up to the last frame received even when the publisher vanishes or the server
stops. A file that already exists is appended to: a new publication continues it, its
timestamps carrying on from the file's last tag (never going backwards), after trimming
half a tag a crash may have left at the end.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import aiofiles
import anyio

from headwater.media.flv.muxer import FlvMuxer
from headwater.media.flv.tags import encode_header, encode_tag
from headwater.media.flv.tail import flv_tail

if TYPE_CHECKING:
    from headwater.subscription import Subscription

log = logging.getLogger("headwater.recording")

BATCH_BYTES = 256 << 10


def recording_path(data_dir: Path, path: str) -> Path:
    """Where an ``x-record`` path points: absolute as given, relative under ``data_dir``."""
    target = Path(path)
    return target if target.is_absolute() else data_dir / target


class FlvFileRecorder:
    """A consumer writing the stream as FLV tags into ``path``."""

    def __init__(self, stream_name: str, path: Path) -> None:
        self.path = path
        self.name = f"record {path}"
        self.stream_name = stream_name
        self.bytes_written = 0

    async def run(self, subscription: Subscription) -> None:
        """Write until the publication ends; every batch is flushed to the OS."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        muxer = FlvMuxer()
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        resume: int | None = None  # the timestamp the appended tags start from
        if not fresh:
            end, last = await anyio.to_thread.run_sync(flv_tail, self.path)
            if end != self.path.stat().st_size:
                log.warning(
                    "%s: trimming a partial tag at the end of %s", self.stream_name, self.path
                )
                await anyio.to_thread.run_sync(os.truncate, self.path, end)
            resume = None if last is None else last + 1
        log.info("%s: recording into %s", self.stream_name, self.path)
        async with aiofiles.open(self.path, "ab") as out:
            if fresh:
                await out.write(encode_header())
            metadata = subscription.stream.metadata
            if metadata:
                tag = muxer.metadata(metadata)
                await out.write(encode_tag(tag.kind, resume or 0, tag.data))
            parts: list[bytes] = []
            size = 0
            offset: int | None = None
            floor = resume or 0
            try:
                async for frame in subscription:
                    for tag in muxer.frame(frame):
                        ts = tag.timestamp
                        if resume is not None:
                            if offset is None:  # shift only a clock that starts behind the file
                                offset = max(resume - ts, 0)
                            ts = max(ts + offset, floor)
                            floor = ts
                        data = encode_tag(tag.kind, ts, tag.data)
                        parts.append(data)
                        size += len(data)
                    if size >= BATCH_BYTES or not subscription.pending:
                        await out.write(b"".join(parts))
                        await out.flush()
                        self.bytes_written += size
                        parts, size = [], 0
            finally:
                if parts:
                    with anyio.CancelScope(shield=True):
                        await out.write(b"".join(parts))
                        await out.flush()
                        self.bytes_written += size
        log.info(
            "%s: recording %s closed (%d bytes)", self.stream_name, self.path, self.bytes_written
        )
