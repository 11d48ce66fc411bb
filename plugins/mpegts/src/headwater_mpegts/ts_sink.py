"""An HTTP MPEG-TS publisher's body, demuxed as it is read: the sink the publish route hands
to the HTTP server's ``headwater.body_sink`` extension once the publication is admitted.

Each socket read's body bytes come here from the connection's ``data_received`` (joined once
by the server): they are counted, fed to the publication's :class:`TSReader` in one call and
its frames handed over with one ``send_many``, without an ASGI message, a wake-up of the
route's task or a timer of the publisher's own. After a read smaller than
:data:`SINK_BATCH_BYTES` reading stops until the next tick of the shared
:class:`~headwater_mpegts.read_tick.ReadTick` (at most ``mpegts.read_interval``), so the
kernel gathers the client's next chunks for one read; a bigger read is followed by the next
at once, so throughput is never limited. The route's task only waits for :attr:`ended` (or
the idle timeout, from :attr:`last`).

Sans-I/O apart from the tap it is given: a table of reads and ends drives it in the tests.
A fault in this publisher's demux closes this client only, with a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from headwater import Frame

if TYPE_CHECKING:
    from headwater.media.mpegts import TSReader
    from headwater_mpegts.read_tick import ReadTick

log = logging.getLogger("headwater.mpegts")

SINK_BATCH_BYTES = 192 << 10
"""A read that brought less body than this is followed by a pause until the next read tick.
The transport reads up to 256,000 bytes at once (uvloop; asyncio 256 KiB), so a read of
less had emptied the socket: pausing loses nothing, and reads that bring 64 to 192 KiB (a
keyframe's burst) no longer cost an extra small read right after them. A bigger read may
have left more waiting: the next one follows at once, so throughput is never limited."""


class Sending(Protocol):
    """What the sink publishes to (a :class:`~headwater.Publication`)."""

    stop_reason: str | None

    def send_many(self, frames: list[Frame]) -> None:
        """Publish frames in order."""

    def add_bytes(self, count: int) -> None:
        """Count wire bytes."""


class Tap(Protocol):
    """The sink's hold on its connection (:class:`headwater.http.body_tap.BodyTap`)."""

    def pause_reading(self) -> None:
        """Stop reading."""

    def resume_reading(self) -> None:
        """Read again."""

    def abort(self) -> None:
        """Close the connection."""


class TSBodySink:
    """Feeds one publisher's body to its reader and publication, read by read."""

    __slots__ = (
        "_clock",
        "_feed",
        "_resume",
        "_tick",
        "ended",
        "failed",
        "label",
        "last",
        "on_end",
        "publication",
        "reader",
        "reads",
        "tap",
    )

    def __init__(
        self,
        reader: TSReader,
        publication: Sending,
        clock: Callable[[], float],
        tick: ReadTick | None = None,
        on_end: Callable[[], None] | None = None,
        label: str = "",
    ) -> None:
        self.label = label
        """Who publishes what, for the log (e.g. ``live/x from 10.0.0.5``)."""
        self.reader = reader
        self.publication = publication
        self._feed = reader.feed
        self._clock = clock
        self._tick = tick
        """Where paused reads are resumed (None: never pause, read at once)."""
        self.on_end = on_end
        """Called once when the body is over (the route's task waits on it)."""
        self.tap: Tap | None = None
        self._resume: Callable[[], None] | None = None
        self.ended: str | None = None
        """Why the body is over (``"body ended"``, ``"client left"``, ``"demux failed: …"``),
        None while it lasts."""
        self.failed = False
        """Whether this publisher's demux raised (the reader is not flushed then)."""
        self.last = clock()
        """Clock time of the last read that brought body bytes (or of the sink's making)."""
        self.reads = 0
        """Reads that brought body bytes (for tests and figures)."""

    def attach(self, tap: Tap) -> None:
        """Take ``tap``, the connection's controls, for pausing between reads."""
        self.tap = tap
        self._resume = tap.resume_reading

    def body_received(self, data: bytes) -> None:
        """One read's body bytes: count, demux, publish; pause reading till the next tick
        if the read was small (``data`` is empty when the read brought only the chunked
        framing: that read pauses too, and does not count as activity)."""
        if data:
            self.last = self._clock()
            self.reads += 1
            publication = self.publication
            if self.ended is not None or publication.stop_reason is not None:
                return  # stopping: nothing more is published
            publication.add_bytes(len(data))
            try:
                events = self._feed(data)
                if events:
                    frames = [event for event in events if type(event) is Frame]
                    if frames:
                        publication.send_many(frames)
            except Exception as exc:  # this client's fault closes this client only
                self.fail(exc)
                return
        tick = self._tick
        if tick is not None and len(data) < SINK_BATCH_BYTES:
            tap = self.tap
            if tap is not None:
                tap.pause_reading()
                assert self._resume is not None
                tick.at_next(self, self._resume)

    def body_ended(self, reason: str) -> None:
        """The body is over (``reason`` from the HTTP server)."""
        if self.ended is None:
            self.ended = reason
            self._stop_tick()
            if self.on_end is not None:
                self.on_end()

    def fail(self, exc: Exception) -> None:
        """The demux of this body raised: close the connection and end the body."""
        log.error(
            "%s: closing the HTTP MPEG-TS publisher: its body's demux failed: %s: %s",
            self.label or "mpegts",
            type(exc).__name__,
            exc,
        )
        self.failed = True
        if self.tap is not None:
            self.tap.abort()
        self.body_ended(f"demux failed: {type(exc).__name__}: {exc}")

    def _stop_tick(self) -> None:
        if self._tick is not None:
            self._tick.cancel(self)
