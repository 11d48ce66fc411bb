"""Record into the file an ``on_publish`` handler named with its ``x-record`` header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.markers import hookimpl
from headwater.recording import FlvFileRecorder, recording_path

if TYPE_CHECKING:
    from headwater.config.models import StreamSettings
    from headwater.server import Server
    from headwater.stream import Stream


@hookimpl
def record(
    server: Server, stream: Stream, settings: StreamSettings, path: str | None
) -> FlvFileRecorder | None:
    """An endless FLV recorder when an authorization verdict named a path."""
    if not path:
        return None
    return FlvFileRecorder(stream.name, recording_path(server.data_dir, path))
