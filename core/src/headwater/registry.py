"""The stream registry: names to streams, static and dynamic."""

from __future__ import annotations

import time
from collections.abc import Iterator

from headwater.config.models import Limits, StreamSettings
from headwater.stream import Stream


class StreamRegistry:
    """Maps stream names to :class:`Stream` objects.

    Static streams from the config are always listed; dynamic (template) streams appear
    with their first publisher and disappear ``dynamic_stream_ttl`` seconds after the last
    one leaves.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._streams: dict[str, Stream] = {}

    def __len__(self) -> int:
        return len(self._streams)

    def __iter__(self) -> Iterator[Stream]:
        return iter(sorted(self._streams.values(), key=lambda s: s.name))

    def __contains__(self, name: object) -> bool:
        return name in self._streams

    def get(self, name: str) -> Stream | None:
        """The stream with this name, or None."""
        return self._streams.get(name)

    def live_count(self) -> int:
        """How many streams have a publisher now."""
        return sum(1 for s in self._streams.values() if s.live)

    def ensure(self, name: str, settings: StreamSettings, *, static: bool, location: str) -> Stream:
        """Return the stream for ``name``, creating it (or refreshing its settings)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = Stream(
                name,
                settings,
                static=static,
                location=location,
                queue_frames=self.limits.queue_frames,
                gop_cache_bytes=self.limits.gop_cache_bytes,
            )
            self._streams[name] = stream
        else:
            stream.settings = settings
            stream.static = static
            stream.location = location
        return stream

    def sync_static(self, streams: list[StreamSettings], named_by: str = "config") -> None:
        """Make the static streams of one origin (``config`` or ``backend``) match ``streams``."""
        wanted = {s.name: s for s in streams}
        for name, st in list(self._streams.items()):
            if st.static and st.named_by == named_by and name not in wanted and not st.live:
                del self._streams[name]
        for name, settings in wanted.items():
            stream = self.ensure(name, settings, static=True, location=name)
            stream.named_by = named_by

    def remove(self, name: str) -> None:
        """Forget a stream (its publisher, if any, must have been stopped)."""
        self._streams.pop(name, None)

    def expire(self, now: float | None = None) -> list[str]:
        """Remove dynamic streams idle for longer than the TTL; returns the removed names."""
        now = time.monotonic() if now is None else now
        ttl = self.limits.dynamic_stream_ttl
        gone = [
            name
            for name, st in self._streams.items()
            if not st.static
            and not st.live
            and not st.subscriptions
            and (st.ended_at is None or now - st.ended_at >= ttl)
        ]
        for name in gone:
            del self._streams[name]
        return gone
