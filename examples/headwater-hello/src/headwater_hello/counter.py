"""A consumer that counts the frames of a stream and shows the count in the API."""

from __future__ import annotations

from typing import Any

from headwater import Stream, Subscription


class FrameCounter:
    """Counts frames and bytes for as long as the publication lasts.

    The counts live in ``stream.publisher["hello"]``, which the streams API shows under
    ``stats.publisher``.
    """

    def __init__(self, stream: Stream) -> None:
        self.name = "hello counter"
        self.counts: dict[str, Any] = {"frames": 0, "bytes": 0}
        stream.publisher["hello"] = self.counts

    async def run(self, subscription: Subscription) -> None:
        """Read every frame until the publication ends."""
        async for frame in subscription:
            self.counts["frames"] += 1
            self.counts["bytes"] += frame.size
