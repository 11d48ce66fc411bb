"""The deadlines of one RTSP connection, checked by one task while it lives: an unfinished
request or interleaved frame (``limits.message_timeout`` after its first byte; bytes alone
extend nothing), the handshake and idle timeouts before a session records or plays, a
publisher's ``read_timeout`` without RTP or RTCP, a UDP player's ``session_timeout``
without a request or RTCP, and a TCP player that blocks our writes for ``send_timeout``.
The same turn gives a UDP publisher's reorder buffers up on old gaps and sends receiver
reports (RFC 3550 6.4.2) every :data:`REPORT_INTERVAL` seconds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import anyio

from headwater_rtsp.wire import session as ss

if TYPE_CHECKING:
    from headwater_rtsp.connection import Connection

REPORT_INTERVAL = 5.0
"""Seconds between receiver reports to a publisher."""


async def watchdog(conn: Connection) -> None:
    """Close ``conn`` (with the reason, via :meth:`Connection.fail`) at the first deadline
    it misses; never returns otherwise."""
    settings = conn.settings
    limits = conn.server.settings.limits
    handshake, message = limits.handshake_timeout, limits.message_timeout
    tick = min(
        1.0, settings.read_timeout / 4, handshake / 4, settings.reorder_wait / 2, message / 4
    )
    next_report = time.monotonic() + REPORT_INTERVAL
    publisher, player = conn.publisher, conn.player
    while True:
        await anyio.sleep(tick)
        now = time.monotonic()
        started = conn.reader.oldest_started()
        if started is not None and now - started > message:
            conn.fail(
                TimeoutError(
                    f"a request was still unfinished {message:g}s after its first byte "
                    f"({conn.reader.buffered} bytes held)"
                )
            )
            return
        if publisher.recording:
            if now - conn.last_media > settings.read_timeout:
                conn.fail(TimeoutError(f"no RTP or RTCP for {settings.read_timeout:g}s"))
                return
            publisher.expire(now)
            if now >= next_report and publisher.adapter is not None:
                next_report = now + REPORT_INTERVAL
                publisher.send_reports(now)
        elif player.playing:
            udp = any(not m.tcp for m in conn.media)
            last = max(conn.last_request, conn.last_media)
            if udp and now - last > settings.session_timeout:
                conn.fail(TimeoutError(f"no request or RTCP for {settings.session_timeout}s"))
                return
            if conn.paused_since and now - conn.paused_since > settings.send_timeout:
                conn.fail(TimeoutError(f"not reading for {settings.send_timeout:g}s"))
                return
        else:
            early = conn.session.state in (ss.State.INIT, ss.State.ANNOUNCED)
            limit = handshake if early else settings.session_timeout
            if now - conn.last_request > limit:
                conn.fail(TimeoutError(f"idle for {limit:g}s"))
                return
