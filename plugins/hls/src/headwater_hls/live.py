"""Live HLS of one stream, started by its first request and stopped when nobody asks.

:class:`LiveHLS` follows a stream on its own bounded subscription (so a slow HLS costs the
publisher nothing) and feeds a :class:`~headwater_hls.window.SegmentWindow`; between
publications it waits for the stream to come back, keeping its segments and numbering so a
player carries on across a republish. :class:`HLSHub` holds one per watched stream and
runs it in the server's task group until ``hls_idle`` seconds pass without a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from headwater import PlayRejected
from headwater_hls.play import subscribe
from headwater_hls.replies import Headers, media_headers
from headwater_hls.settings import HLSSettings
from headwater_hls.variants import is_low_latency, make_window
from headwater_hls.window import clock_discontinuity, clock_sequence

if TYPE_CHECKING:
    from headwater import Server
    from headwater_hls.variants import Window

log = logging.getLogger("headwater.hls")

OFFLINE_POLL = 1.0
"""Seconds between checks whether a watched stream that went offline is back (the
``stream_started`` hook wakes it at once; the poll is the safety net)."""
GATHER_SECONDS = 0.1
"""Pause between batches of frames of an MPEG-TS HLS once its open segment may close: one
task switch per batch, not one per frame (a segment is listed at most this much after the
keyframe that closes it; a republication ends the pause at once). Low-latency HLS takes
each frame as it comes."""
LONG_GATHER_SECONDS = 1.0
"""The longest pause while the open segment cannot close yet: the HLS sleeps until its
target is about to be reached (:meth:`SegmentWindow.seconds_to_cut`), at most this long,
so a 2 s segment takes about six batches instead of twenty (fewer wake-ups, and bigger
batches mux for less per frame). Bounded, since the media clock can run ahead of arrival."""


def gather_pause(seconds_to_cut: float) -> float:
    """How long an MPEG-TS HLS lets frames gather after a batch, when its open segment can
    close ``seconds_to_cut`` seconds of media from now at the earliest: until half a
    :data:`GATHER_SECONDS` past that point (so the keyframe that closes it has most likely
    arrived, and the segment is listed as soon after it as with fixed 0.1 s gathers, on
    average), at most :data:`LONG_GATHER_SECONDS`, at least :data:`GATHER_SECONDS`."""
    pause = seconds_to_cut + GATHER_SECONDS / 2 if seconds_to_cut > 0 else GATHER_SECONDS
    return min(max(pause, GATHER_SECONDS), LONG_GATHER_SECONDS)


def _end(pause: asyncio.Future[None] | None) -> None:
    """End a gather pause (if it is still under way)."""
    if pause is not None and not pause.done():
        pause.set_result(None)


REMEMBERED = 4096
"""Stream names whose last sequence numbers are remembered after their HLS stopped."""


class LiveHLS:
    """The live HLS of one stream name: its segment window and the task that fills it."""

    def __init__(
        self, server: Server, name: str, settings: HLSSettings, window: Window, variant: str = ""
    ):
        self.server = server
        self.name = name
        self.settings = settings
        self.window = window
        self.variant = variant
        """Which HLS of the stream this is (``""``: MPEG-TS of every track)."""
        self.last_request = time.monotonic()
        self.started_at = time.monotonic()
        self._changed = anyio.Event()
        self._waiting = 0
        """Requests held in :meth:`wait_for` (the HLS is not idle while any is)."""
        self._republished = anyio.Event()
        self._scope = anyio.CancelScope()
        self._pause: asyncio.Future[None] | None = None
        """The gather pause under way, if any (its result set to end it early)."""
        self._media_headers: dict[bytes, Headers] = {}

    def media_headers(self, content_type: bytes) -> Headers:
        """Headers of this HLS's segments, parts and init segments of ``content_type``:
        cacheable for as long as they can be listed (made once)."""
        headers = self._media_headers.get(content_type)
        if headers is None:
            settings = self.settings
            lifetime = settings.segment_duration * (settings.segment_count + 2)
            headers = self._media_headers[content_type] = media_headers(content_type, lifetime)
        return headers

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
        self.end_pause()

    def end_pause(self) -> None:
        """Stop gathering frames now: the publication ended or was taken over, so its last
        segment is closed (or the new one followed) at once, not when the pause ends."""
        _end(self._pause)

    async def _gather(self, seconds: float) -> None:
        """Let frames gather for ``seconds`` (ended early by :meth:`end_pause`).

        The pause is a future of the event loop that a timer (or :meth:`end_pause`)
        completes, what ``asyncio.sleep`` is made of: it costs 11-13 µs of CPU a pause
        against 29-33 µs for an ``anyio.sleep`` in a cancel scope (uvloop, 20 tasks x 200
        pauses), and an HLS pauses about three times a second. A cancellation of the task
        (the HLS stopping) cancels the future like any other await.
        """
        loop = asyncio.get_running_loop()
        self._pause = pause = loop.create_future()
        timer = loop.call_later(seconds, _end, pause)
        try:
            await pause
        finally:
            timer.cancel()
            self._pause = None

    def stop(self) -> None:
        """Stop following the stream (the segments go with this object)."""
        self._scope.cancel()

    async def wait_for_segment(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until at least one segment is held; True if one is."""
        return await self.wait_for(lambda: bool(self.window.segments), timeout)

    async def wait_for(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until ``ready()``, checked after each new segment or
        part; return its last answer (at once, with no timer, when it is ready already)."""
        if ready():
            self.touch()
            return True
        self._waiting += 1
        try:
            with anyio.move_on_after(timeout):
                while not ready():
                    await self._changed.wait()
        finally:
            self._waiting -= 1
            self.touch()
        return ready()

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
            if self._waiting:  # a request is held for a segment or part: not idle
                self.touch()
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
            # MPEG-TS segments are listed whole: frames may gather between batches (until
            # the open segment may close, then 0.1 s at a time); low-latency parts are
            # listed as the next frame arrives, so not there
            gather = not is_low_latency(self.variant)
            try:
                if window.feed_many(backlog):
                    self._notify()
                async for frame in sub:
                    # every frame queued now, muxed at once (Segmenter.feed_many)
                    if window.feed_many([frame, *sub.drain()]):
                        self._notify()
                    # no pause once the publication ended or was taken over (end_pause)
                    if gather and not (sub.ended or self._republished.is_set()):
                        await self._gather(gather_pause(window.seconds_to_cut()))
            finally:
                if window.end_publication() is not None:
                    self._notify()
        log.debug("%s: publication ended; HLS waits for the next one", self.name)


class HLSHub:
    """The running live HLS of one server, by stream name."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.running: dict[tuple[str, str], LiveHLS] = {}
        """Running HLS by (stream name, variant)."""
        self._next: OrderedDict[tuple[str, str], tuple[int, int]] = OrderedDict()

    @property
    def settings(self) -> HLSSettings:
        """The ``[hls]`` section as currently configured."""
        return self.server.plugin_settings["hls"]

    def stream_started(self, name: str) -> None:
        """A publication of ``name`` began: each running HLS waiting for it resubscribes now."""
        for (running_name, _), live in list(self.running.items()):
            if running_name == name:
                live.wake()

    def stream_stopped(self, name: str) -> None:
        """The publication of ``name`` ended: each running HLS of it closes its last
        segment now rather than at the end of its gather pause."""
        for (running_name, _), live in list(self.running.items()):
            if running_name == name:
                live.end_pause()

    def get(self, name: str, variant: str = "") -> LiveHLS | None:
        """The running HLS of ``name`` in ``variant`` (see :mod:`headwater_hls.variants`)."""
        return self.running.get((name, variant))

    def start(self, name: str, variant: str = "") -> LiveHLS:
        """The running HLS of ``name`` in ``variant``, started now if it was not running.

        ``variant`` is ``""`` for the MPEG-TS HLS of every track; others (a track selection,
        low-latency HLS) come from :func:`headwater_hls.variants.variant_of`.
        """
        key = (name, variant)
        live = self.running.get(key)
        if live is not None:
            return live
        settings = self.settings
        now = time.time()
        sequence, discontinuity = clock_sequence(now), clock_discontinuity(now)
        remembered = self._next.pop(key, None)
        if remembered is not None:  # never go back, even if segments outran the clock
            sequence = max(sequence, remembered[0])
            discontinuity = max(discontinuity, remembered[1])
        window = make_window(variant, settings, sequence, discontinuity)
        live = self.running[key] = LiveHLS(self.server, name, settings, window, variant)
        self.server.task_group.start_soon(self._run, live)
        log.info("%s: HLS%s started", name, f" ({variant})" if variant else "")
        return live

    async def _run(self, live: LiveHLS) -> None:
        try:
            await live.run()
        except Exception as exc:
            # the reason, not the task group's wrapper of it
            while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]
            log.error("%s: HLS failed: %s: %s", live.name, type(exc).__name__, exc)
        finally:
            key = (live.name, live.variant)
            if self.running.get(key) is live:
                del self.running[key]
            window = live.window
            self._next[key] = (
                window.next_sequence,
                window.discontinuity_base + window.discontinuities + 1,
            )
            while len(self._next) > REMEMBERED:
                self._next.popitem(last=False)
