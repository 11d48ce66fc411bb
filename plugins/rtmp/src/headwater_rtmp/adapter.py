"""RTMP messages ↔ headwater frames.

RTMP audio (8), video (9) and data (18) messages carry exactly the bodies of FLV tags of
the same type numbers, so both directions delegate to :mod:`headwater.media.flv`:
:class:`PublishAdapter` turns a publisher's messages into frames and metadata,
:class:`PlayAdapter` turns a subscription's frames into messages for a player or a push.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from headwater.media.flv import FlvDemuxer, FlvMuxer, FlvTag
from headwater.media.frames import Frame
from headwater_rtmp.wire import amf3
from headwater_rtmp.wire.messages import AUDIO, VIDEO, Message
from headwater_rtmp.wire.outbox import Outbox


class PublishAdapter:
    """One publishing message stream: messages in, frames out (timestamps unwrapped)."""

    def __init__(self) -> None:
        self.demuxer = FlvDemuxer(amf3=amf3.decode_at)
        self.video = self.demuxer.video
        """Frames of one video message: ``video(timestamp, payload)``, :meth:`frames` inlined."""
        self.audio = self.demuxer.audio
        """Frames of one audio message: ``audio(timestamp, payload)``."""

    def frames(self, msg: Message) -> list[Frame]:
        """The frames of one audio or video message (none for a sequence header)."""
        if msg.type_id == VIDEO:
            return self.demuxer.video(msg.timestamp, msg.payload)
        if msg.type_id == AUDIO:
            return self.demuxer.audio(msg.timestamp, msg.payload)
        return []


class PlayAdapter:
    """One playing message stream: frames in, (type, timestamp, body) messages out."""

    def __init__(self, multitrack: bool = False) -> None:
        self.muxer = FlvMuxer(multitrack=multitrack)

    def messages(self, frame: Frame) -> list[FlvTag]:
        """Messages for one frame: a sequence header when the track is new, then the frame."""
        return self.muxer.frame(frame)

    def send(self, frames: Iterable[Frame], outbox: Outbox, stream_id: int) -> None:
        """Queue the messages of several frames on ``outbox`` (a player's turn): the same
        bytes as :meth:`messages` and :meth:`Outbox.media` for each frame, in two passes
        (the muxer's, then the chunk writer's) instead of a call chain per message."""
        outbox.media_many(stream_id, self.muxer.bodies(frames))

    @staticmethod
    def metadata_for(metadata: dict[str, Any]) -> dict[str, Any]:
        """The ``onMetaData`` a player gets: the publisher's, minus file-only fields."""
        return {k: v for k, v in metadata.items() if k not in ("filesize", "duration")}
