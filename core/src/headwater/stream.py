"""A stream: one name, at most one publisher, any number of consumers.

The publisher's frames fan out to every subscription synchronously (never waiting), and
the stream keeps the last group of pictures so that a new consumer starts at a keyframe.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from headwater.config.models import StreamSettings
from headwater.media.frames import Frame, MediaKind, Track
from headwater.stream_stats import StreamStats
from headwater.subscription import Subscription

_monotonic = time.monotonic
_VIDEO = MediaKind.VIDEO


class Stream:
    """A named stream in the registry, live while a publisher is attached."""

    def __init__(
        self,
        name: str,
        settings: StreamSettings | None = None,
        *,
        static: bool = False,
        location: str = "",
        queue_frames: int = 4096,
        gop_cache_bytes: int = 16 << 20,
    ) -> None:
        self.name = name
        self.settings = settings
        self.static = static
        self.location = location
        self.named_by = "config" if static else "user"
        self.queue_frames = queue_frames
        self.gop_cache_bytes = gop_cache_bytes
        self.live = False
        self.tracks_by_id: dict[int, Track] = {}
        self.metadata: dict[str, Any] = {}
        self.publisher: dict[str, Any] = {}
        self.stats = StreamStats()
        self.subscriptions: list[Subscription] = []
        self.has_video = False
        self.ended_at: float | None = None
        """Monotonic time the last publication ended (None while live or never published)."""
        self.publications = 0
        self.dropped_total = 0
        self.bytes_out_total = 0
        """Bytes taken by consumers that have left (live ones count their own)."""
        self.input_stats: Callable[[], dict[str, Any]] | None = None
        """The publishing protocol's live counters (SRT RTT, loss...), set by the plugin."""
        self.source_error: str | None = None
        """Why the last publication was stopped from outside (idle, API...), if it was."""
        self._out_marks: list[tuple[float, int]] = []
        self._gop: list[Frame] = []
        self._gop_bytes = 0

    # -- what the API shows ---------------------------------------------------------------

    @property
    def tracks(self) -> list[Track]:
        """Current tracks in id order."""
        return [self.tracks_by_id[k] for k in sorted(self.tracks_by_id)]

    @property
    def bytes_out(self) -> int:
        """Payload bytes every consumer (player, recorder, push) has taken."""
        return self.bytes_out_total + sum(s.bytes_out for s in self.subscriptions)

    @property
    def status(self) -> str:
        """Flussonic's ``running`` (published now), ``waiting`` (for a publisher) or
        ``error`` (the last publication was stopped: idle, API, backend)."""
        if self.live:
            return "running"
        return "error" if self.source_error else "waiting"

    def sample_output(self, now: float) -> None:
        """Remember ``bytes_out`` now (called once a second) for :meth:`output_bitrate`."""
        marks = self._out_marks
        marks.append((now, self.bytes_out))
        if len(marks) > 6:
            del marks[0]

    def output_bitrate(self) -> int:
        """Output bitrate in kbit/s over the last few seconds' samples."""
        marks = self._out_marks
        if len(marks) < 2 or not self.live:
            return 0
        (t0, b0), (t1, b1) = marks[0], marks[-1]
        return int(max(b1 - b0, 0) * 8 / max(t1 - t0, 1e-3) / 1000)

    def describe(self) -> dict[str, Any]:
        """The stream as ``GET /streamer/api/v3/streams`` shows it (Flussonic-style names)."""
        now = time.monotonic()
        stats = self.stats
        info: dict[str, Any] = {
            "alive": self.live,
            "status": self.status,
            "publish_enabled": bool(self.settings and self.settings.publish_enabled),
            "bytes_in": stats.bytes_in,
            "bytes_out": self.bytes_out,
            "frames_in": stats.frames_in,
            "wire_bytes_in": stats.wire_bytes_in,
            "input_bitrate": stats.bitrate(now) if self.live else 0,
            "output_bitrate": self.output_bitrate(),
            "online_clients": len(self.subscriptions),
            "client_count": len(self.subscriptions),
            "drops": self.dropped_total + sum(s.dropped for s in self.subscriptions),
            "media_info": {
                "tracks": [t.describe() for t in self.tracks],
                "metadata": _jsonable(self.metadata),
            },
        }
        if stats.started_at:
            info["opened_at"] = int(stats.started_at * 1000)
            info["lifetime"] = int((time.time() - stats.started_at) * 1000) if self.live else 0
        if stats.frames_in:
            info["last_dts"] = stats.last_dts // 90
            info["last_dts_at"] = int((time.time() - (now - stats.last_frame_at)) * 1000)
            info["ts_delay"] = int((now - stats.last_frame_at) * 1000) if self.live else 0
        if self.source_error:
            info["source_error"] = self.source_error
        if self.publisher:
            info["publisher"] = dict(self.publisher)
            live_counters = self.input_stats() if self.live and self.input_stats else {}
            info["input"] = {**self.publisher, **live_counters}
        info["consumers"] = [
            {"name": s.name, "pending": s.pending, "dropped": s.dropped} for s in self.subscriptions
        ]
        return {
            "name": self.name,
            "named_by": self.named_by,
            "static": self.static,
            "location": self.location,
            "stats": info,
        }

    # -- publishing (called through Publication) ----------------------------------------

    def begin(self, publisher: dict[str, Any]) -> None:
        """Attach a publisher: reset per-publication state."""
        self.live = True
        self.publisher = publisher
        self.tracks_by_id = {}
        self.metadata = {}
        self.stats = StreamStats(started_at=time.time())
        self.has_video = False
        self._gop = []
        self._gop_bytes = 0
        self.ended_at = None
        self.publications += 1
        self.input_stats = None
        self.source_error = None
        self._out_marks = []

    def finish(self) -> None:
        """Detach the publisher; every subscription ends once drained."""
        self.live = False
        self.ended_at = time.monotonic()
        for sub in list(self.subscriptions):
            sub.end()
        self._gop = []
        self._gop_bytes = 0

    def put(self, frame: Frame) -> None:
        """Take one frame from the publisher: count, cache, fan out. Never blocks."""
        track = frame.track
        if self.tracks_by_id.get(track.id) is not track:
            self._learn(track)
        size = frame.size
        keyframe = frame.keyframe
        self.stats.add(size, keyframe, _monotonic(), frame.dts)
        # GOP cache: restart at each video keyframe; audio-only streams keep a short tail.
        if keyframe and track.kind is _VIDEO:
            self._gop = [frame]
            self._gop_bytes = size
        elif self._gop or not self.has_video:
            self._gop.append(frame)
            self._gop_bytes += size
            if self._gop_bytes > self.gop_cache_bytes or (
                not self.has_video and len(self._gop) > 100
            ):
                if self.has_video:
                    self._gop = []
                    self._gop_bytes = 0
                else:
                    dropped = self._gop[:-50]
                    self._gop = self._gop[-50:]
                    self._gop_bytes -= sum(f.size for f in dropped)
        for sub in self.subscriptions:
            sub.offer(frame, size)

    def put_many(self, frames: list[Frame]) -> None:
        """:meth:`put` for each of ``frames`` in order (what one read of a publisher brought):
        the same counts, GOP cache and queues, in one pass with one clock reading and one
        hand-over to each subscription (:meth:`Subscription.offer_many`).

        The GOP cache's rule is written out here as in :meth:`put` rather than called per
        frame (a call is some 60 ns, a tenth of this pass per frame);
        ``tests/core/test_stream_put_many.py`` holds the two to the same result."""
        if not frames:
            return
        if not self.has_video and any(f.track.kind is _VIDEO for f in frames):
            # The first video frame changes how subscriptions drop (to the next keyframe):
            # frames before it must be offered before it is known.
            for frame in frames:
                self.put(frame)
            return
        tracks = self.tracks_by_id
        gop = self._gop
        limit = self.gop_cache_bytes
        total = keyframes = 0
        for frame in frames:
            track = frame.track
            if tracks.get(track.id) is not track:
                self._learn(track)
            size = frame.size
            total += size
            if frame.keyframe:
                keyframes += 1
                if track.kind is _VIDEO:
                    gop = self._gop = [frame]
                    self._gop_bytes = size
                    continue
            if gop or not self.has_video:
                gop.append(frame)
                self._gop_bytes += size
                if self._gop_bytes > limit or (not self.has_video and len(gop) > 100):
                    if self.has_video:
                        gop = self._gop = []
                        self._gop_bytes = 0
                    else:
                        dropped = gop[:-50]
                        gop = self._gop = gop[-50:]
                        self._gop_bytes -= sum(f.size for f in dropped)
        self.stats.add_many(total, len(frames), keyframes, _monotonic(), frames[-1].dts)
        for sub in self.subscriptions:
            sub.offer_many(frames, total)

    def _learn(self, track: Track) -> None:
        """A track first seen (or replaced under its id) joins the stream's tracks."""
        self.tracks_by_id[track.id] = track
        if track.kind is MediaKind.VIDEO:
            self.has_video = True

    # -- consuming -----------------------------------------------------------------------

    def open_subscription(self, name: str, *, maxsize: int | None = None) -> Subscription:
        """A subscription pre-filled from the GOP cache; close it with ``close_subscription``."""
        sub = Subscription(self, name, maxsize or self.queue_frames)
        if not self.live:
            sub.end()
            return sub
        for frame in self._gop:
            sub.offer(frame)
        self.subscriptions.append(sub)
        return sub

    def close_subscription(self, sub: Subscription) -> None:
        """Detach a subscription; its drop count is kept in the stream's total."""
        if sub in self.subscriptions:
            self.subscriptions.remove(sub)
            self.dropped_total += sub.dropped
            self.bytes_out_total += sub.bytes_out
        sub.end()

    @asynccontextmanager
    async def subscribe(
        self, name: str, *, maxsize: int | None = None
    ) -> AsyncIterator[Subscription]:
        """Read the stream from its last keyframe until the publication ends."""
        sub = self.open_subscription(name, maxsize=maxsize)
        try:
            yield sub
        finally:
            self.close_subscription(sub)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
