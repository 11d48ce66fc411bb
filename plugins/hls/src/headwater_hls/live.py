"""Live HLS of one stream, started by its first request and stopped when nobody asks.

:class:`LiveHLS` follows a stream on its own bounded subscription (so a slow HLS costs the
publisher nothing) and feeds a :class:`~headwater_hls.window.SegmentWindow`; between
publications it waits for the stream to come back, keeping its segments and numbering so a
player carries on across a republish. :class:`HLSHub` holds one per watched stream and
runs it in the server's task group until ``hls_idle`` seconds pass without a request.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

import anyio

from headwater import PlayRejected
from headwater_hls.play import subscribe
from headwater_hls.settings import HLSSettings
from headwater_hls.window import SegmentWindow, clock_discontinuity, clock_sequence

if TYPE_CHECKING:
    from headwater import Server

log = logging.getLogger("headwater.hls")

OFFLINE_POLL = 1.0
"""Seconds between checks whether a watched stream that went offline is back (the
``stream_started`` hook wakes it at once; the poll is the safety net)."""
GATHER_SECONDS = 0.1
"""Pause between batches of frames: one task switch per batch, not one per frame (a segment
is listed at most this much later; a republication ends the pause at once)."""
REMEMBERED = 4096
"""Stream names whose last sequence numbers are remembered after their HLS stopped."""


class LiveHLS:
    """The live HLS of one stream name: its segment window and the task that fills it."""

    def __init__(self, server: Server, name: str, settings: HLSSettings, window: SegmentWindow):
        self.server = server
        self.name = name
        self.settings = settings
        self.window = window
        self.last_request = time.monotonic()
        self.started_at = time.monotonic()
        self._changed = anyio.Event()
        self._republished = anyio.Event()
        self._scope = anyio.CancelScope()

    def touch(self) -> None:
        """A client asked for a playlist or segment: keep this HLS running."""
        self.last_request = time.monotonic()

    def lingering(self) -> bool:
        """The stream just went offline and its last segments are still worth playing.

        For one playlist's length (``segment_count`` times ``segment_duration``) after the
        publisher leaves, players may still fetch the final segments; a republication in
        that time continues the same playlist after an ``EXT-X-DISCONTINUITY``.
        """
        stream = self.server.streams.get(self.name)
        ended = stream.ended_at if stream is not None and not stream.live else None
        if ended is None or not self.window.segments:
            return False
        grace = self.settings.segment_count * self.settings.segment_duration
        return time.monotonic() - ended < grace

    def wake(self) -> None:
        """The stream was published again: resubscribe now rather than at the next poll."""
        self._republished.set()

    def stop(self) -> None:
        """Stop following the stream (the segments go with this object)."""
        self._scope.cancel()

    async def wait_for_segment(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until at least one segment is held; True if one is."""
        with anyio.move_on_after(timeout):
            while not self.window.segments:
                await self._changed.wait()
        return bool(self.window.segments)

    def _notify(self) -> None:
        event, self._changed = self._changed, anyio.Event()
        event.set()

    async def run(self) -> None:
        """Follow the stream until ``hls_idle`` seconds pass with no request."""
        with self._scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch_idle, tg.cancel_scope)
                await self._follow()

    async def _watch_idle(self, scope: anyio.CancelScope) -> None:
        idle = self.settings.hls_idle
        while True:
            left = self.last_request + idle - time.monotonic()
            if left <= 0:
                log.info("%s: HLS stopped after %gs without a request", self.name, idle)
                scope.cancel()
                return
            await anyio.sleep(left)

    async def _follow(self) -> None:
        """Read each publication of the stream in turn; wait while it is offline."""
        while True:
            # PlayRejected: it went offline between the check and the subscription
            with contextlib.suppress(PlayRejected):
                await self._read_publication()
            # a republication that began while the last one was still being read has
            # already set the event: look again at once rather than at the next poll
            with anyio.move_on_after(OFFLINE_POLL):
                await self._republished.wait()
            self._republished = anyio.Event()

    async def _read_publication(self) -> None:
        """Cut the current publication into segments until it ends (nothing when offline)."""
        window = self.window
        subscription = subscribe(self.server, self.name)
        if subscription is None:
            return
        self._republished = anyio.Event()  # from now on, a wake-up means a new publication
        async with subscription as sub:
            backlog = sub.drain()
            if not backlog:
                first = await anext(sub, None)
                if first is None:
                    return  # ended before sending anything
                backlog = [first]
            # The newest timestamp waiting arrived about now (the last frame may be audio
            # that the publisher interleaves behind its video: take the largest).
            window.start_publication(sub.tracks, time.time(), max(f.dts for f in backlog))
            try:
                for frame in backlog:
                    if window.feed(frame) is not None:
                        self._notify()
                async for frame in sub:
                    if window.feed(frame) is not None:
                        self._notify()
                    for more in sub.drain():
                        if window.feed(more) is not None:
                            self._notify()
                    with anyio.move_on_after(GATHER_SECONDS):  # cut short by a republish
                        await self._republished.wait()
            finally:
                if window.end_publication() is not None:
                    self._notify()
        log.debug("%s: publication ended; HLS waits for the next one", self.name)


class HLSHub:
    """The running live HLS of one server, by stream name."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.running: dict[str, LiveHLS] = {}
        self._next: OrderedDict[str, tuple[int, int]] = OrderedDict()

    @property
    def settings(self) -> HLSSettings:
        """The ``[hls]`` section as currently configured."""
        return self.server.plugin_settings["hls"]

    def stream_started(self, name: str) -> None:
        """A publication of ``name`` began: a running HLS waiting for it resubscribes now."""
        live = self.running.get(name)
        if live is not None:
            live.wake()

    def get(self, name: str) -> LiveHLS | None:
        """The running HLS of ``name``, or None."""
        return self.running.get(name)

    def start(self, name: str) -> LiveHLS:
        """The running HLS of ``name``, started now if it was not running."""
        live = self.running.get(name)
        if live is not None:
            return live
        settings = self.settings
        now = time.time()
        sequence, discontinuity = clock_sequence(now), clock_discontinuity(now)
        remembered = self._next.pop(name, None)
        if remembered is not None:  # never go back, even if segments outran the clock
            sequence = max(sequence, remembered[0])
            discontinuity = max(discontinuity, remembered[1])
        window = SegmentWindow(
            target=settings.segment_duration,
            count=settings.segment_count,
            sequence=sequence,
            discontinuity=discontinuity,
            max_segment_bytes=settings.max_segment_bytes,
        )
        live = self.running[name] = LiveHLS(self.server, name, settings, window)
        self.server.task_group.start_soon(self._run, live)
        log.info("%s: HLS started", name)
        return live

    async def _run(self, live: LiveHLS) -> None:
        try:
            await live.run()
        except Exception as exc:
            log.error("%s: HLS failed: %s: %s", live.name, type(exc).__name__, exc)
        finally:
            if self.running.get(live.name) is live:
                del self.running[live.name]
            window = live.window
            self._next[live.name] = (
                window.next_sequence,
                window.discontinuity_base + window.discontinuities + 1,
            )
            while len(self._next) > REMEMBERED:
                self._next.popitem(last=False)
