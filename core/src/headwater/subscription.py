"""One consumer's bounded view of a stream, with the drop-to-next-keyframe policy.

The publisher hands each frame to every subscription synchronously and never waits; a
subscription whose queue is full throws its backlog away and resumes at the next video
keyframe (at once for audio-only streams), counting what it dropped. Frames reach the
consumer through ``async for``; the iteration ends when the publication ends. A consumer
that writes from event-loop callbacks instead (RTMP players) sets
:attr:`Subscription.on_ready` and takes the frames with :meth:`Subscription.drain`.

The bytes a consumer took are counted when a frame is queued (the publisher knows each
frame's size already) less what is still queued or was thrown away, worked out when
:attr:`Subscription.bytes_out` is read (once a second for the stats), so taking a frame
costs no size computation.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from headwater.media.frames import Frame, Track

if TYPE_CHECKING:
    from headwater.stream import Stream

log = logging.getLogger("headwater.stream")


class Subscription:
    """A bounded frame queue fed by a stream's publisher and read by one consumer."""

    __slots__ = (
        "_ended",
        "_queue",
        "_queued_bytes",
        "_waiter",
        "_waiting_key",
        "drop_events",
        "dropped",
        "maxsize",
        "name",
        "on_ready",
        "stream",
    )

    def __init__(self, stream: Stream, name: str, maxsize: int) -> None:
        self.stream = stream
        self.name = name
        self.maxsize = maxsize
        self.dropped = 0
        """Frames thrown away because this consumer fell behind."""
        self._queued_bytes = 0
        """Payload bytes of every frame ever queued, less those thrown away."""
        self.drop_events = 0
        self._queue: deque[Frame] = deque()
        self._waiter: anyio.Event | None = None
        self._ended = False
        self._waiting_key = False
        self.on_ready: Callable[[], None] | None = None
        """Called (synchronously, from the publisher's :meth:`offer`) when the queue gets a
        frame while it was empty, and when the publication ends: a consumer that writes
        from loop callbacks instead of ``async for`` learns there is work. It must not
        raise and must not write there and then: it runs inside the publisher's fan-out."""

    @property
    def tracks(self) -> list[Track]:
        """The stream's tracks as known now."""
        return self.stream.tracks

    @property
    def bytes_out(self) -> int:
        """Payload bytes of the frames this consumer took.

        Safe to read from another thread (the API's worker threads): the queue is copied in
        one C call before the sizes are summed, so the publisher's appends and the
        consumer's pops in between cannot break the iteration."""
        return self._queued_bytes - sum(f.size for f in tuple(self._queue))

    @property
    def pending(self) -> int:
        """Frames waiting in the queue."""
        return len(self._queue)

    def offer(self, frame: Frame, size: int = -1) -> None:
        """Queue a frame (called by the publisher; never blocks); ``size`` is its
        :attr:`~headwater.media.frames.Frame.size` when the caller knows it."""
        if self._ended:
            return
        if self._waiting_key:
            if not (frame.keyframe and frame.track.is_video):
                self.dropped += 1
                return
            self._waiting_key = False
        queue = self._queue
        if len(queue) >= self.maxsize:
            lost = len(queue)
            self._queued_bytes -= sum(f.size for f in queue)
            queue.clear()
            self.dropped += lost
            self.drop_events += 1
            has_video = self.stream.has_video
            log.warning(
                "%s: consumer %s fell behind; dropped %d frames%s",
                self.stream.name,
                self.name,
                lost,
                " and waits for the next keyframe" if has_video else "",
            )
            if has_video and not (frame.keyframe and frame.track.is_video):
                self._waiting_key = True
                self.dropped += 1
                return
        queue.append(frame)
        self._queued_bytes += size if size >= 0 else frame.size
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()
        if len(queue) == 1 and self.on_ready is not None:
            self.on_ready()

    def offer_many(self, frames: list[Frame], size: int) -> None:
        """:meth:`offer` for each of ``frames`` in order (``size``: their sizes summed), with
        one queue extension and at most one :attr:`on_ready` call when nothing can be
        thrown away; otherwise frame by frame."""
        queue = self._queue
        if self._ended or self._waiting_key or len(queue) + len(frames) > self.maxsize:
            for frame in frames:
                self.offer(frame)
            return
        was_empty = not queue
        queue.extend(frames)
        self._queued_bytes += size
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()
        if was_empty and self.on_ready is not None:
            self.on_ready()

    def end(self) -> None:
        """Mark the end of the publication: iteration stops once the queue is drained."""
        self._ended = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()
        if self.on_ready is not None:
            self.on_ready()

    @property
    def ended(self) -> bool:
        """True once the publication ended (frames may still be queued)."""
        return self._ended

    def get_nowait(self) -> Frame | None:
        """The next queued frame, or None when the queue is empty."""
        if not self._queue:
            return None
        return self._queue.popleft()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Frame:
        queue = self._queue
        while not queue:
            if self._ended:
                raise StopAsyncIteration
            waiter = anyio.Event()
            self._waiter = waiter
            await waiter.wait()
        return queue.popleft()

    def resync(self) -> None:
        """Throw the backlog away and resume at the next video keyframe (after a reconnect)."""
        self.dropped += len(self._queue)
        self._queued_bytes -= sum(f.size for f in self._queue)
        self._queue.clear()
        if self.stream.has_video:
            self._waiting_key = True

    def drain(self) -> list[Frame]:
        """Take every queued frame at once (for consumers that batch their writes)."""
        frames = list(self._queue)
        self._queue.clear()
        return frames
