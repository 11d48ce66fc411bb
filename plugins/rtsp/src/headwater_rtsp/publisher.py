"""The publishing side of one RTSP connection (ANNOUNCE, RECORD, TEARDOWN; RFC 2326 10.11):
authorizing and holding the publication, and taking the publisher's RTP and RTCP, from the
interleaved channels of its TCP connection or from the listener's shared UDP pair, through
the :class:`~headwater_rtsp.adapter.PublishAdapter` into ``publication.send``.

The data path has no ``await``: the connection hands whole reads to :meth:`Publisher.read`
(TCP) and the UDP sockets call :meth:`Publisher.udp_rtp` per datagram; frames go straight
to the publication.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskStatus

from headwater import PublishRejected, PublishRequest, shown
from headwater.media.frames import Frame
from headwater_rtsp.adapter import PublishAdapter
from headwater_rtsp.wire import session as ss
from headwater_rtsp.wire.message import interleaved
from headwater_rtsp.wire.refusals import REFUSAL_STATUS

if TYPE_CHECKING:
    from headwater import Publication
    from headwater_rtsp.connection import Connection

log = logging.getLogger("headwater.rtsp")


class Publisher:
    """What one connection publishes: its publication, adapter and transports."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.publication: Publication | None = None
        self.adapter: PublishAdapter | None = None
        self.recording = False
        self.end = anyio.Event()
        """Set when the publication should end (TEARDOWN, the connection closed)."""

    # -- the data path -----------------------------------------------------------------------

    def read(self, data: bytes, start: int, now: float) -> int:
        """Publish what the whole interleaved frames of one read from ``start`` complete;
        return where they end (a request, or a frame the read cut, starts there)."""
        adapter = self.adapter
        assert adapter is not None
        frames, end = adapter.interleaved(data, now, start)
        if frames:
            self.send(frames)
        return end

    def packet(self, channel: int, packet: bytes | memoryview, now: float) -> None:
        """One interleaved packet that came the buffered way (after a request, or cut by a
        read)."""
        adapter = self.adapter
        if adapter is not None:
            frames = adapter.packet(channel, packet, now)
            if frames:
                self.send(frames)

    def send(self, frames: list[Frame]) -> None:
        """Publish frames (unless the core stopped the publication)."""
        publication = self.publication
        if publication is None or publication.stop_reason is not None:
            return
        send = publication.send
        for frame in frames:
            send(frame)

    def udp_rtp(self, index: int, data: bytes, now: float) -> None:
        """One RTP datagram of medium ``index`` (the UDP sockets' route)."""
        self.conn.last_media = now
        adapter = self.adapter
        if adapter is not None:
            frames = adapter.rtp(index, data, now)
            if frames:
                self.send(frames)
            if self.publication is not None:
                self.publication.add_bytes(len(data))

    def udp_rtcp(self, index: int, data: bytes, now: float) -> None:
        """One RTCP datagram of medium ``index``."""
        self.conn.last_media = now
        adapter = self.adapter
        if adapter is not None:
            adapter.rtcp(index, data, now)

    # -- the control flow --------------------------------------------------------------------

    async def publish(
        self, event: ss.Announce, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Authorize and hold one publication until the client ends it or the core stops it."""
        conn = self.conn
        listener = conn.listener
        request = event.request
        args = dict(event.args)
        match = conn.server.find_settings(event.path)
        password = match.settings.password if match is not None else None
        if password and "password" not in args:
            if not listener.auth.check(
                request.headers.get("Authorization"), password, request.method
            ):
                reason = (
                    "wrong credentials"
                    if request.headers.get("Authorization")
                    else "credentials required"
                )
                log.info("rtsp %s:%s ANNOUNCE %s: 401 %s", *conn.peer, shown(event.path), reason)
                challenge = [("WWW-Authenticate", listener.auth.challenge())]
                conn.respond(conn.session.refuse(request, 401, reason, challenge))
                task_status.started()
                return
            args["password"] = password
        publish_request = PublishRequest(
            proto="rtsp", path=event.path, args=args, peer=conn.peer, local_port=conn.local[1]
        )
        self.end = anyio.Event()
        started = False
        try:
            async with conn.server.publish(publish_request) as publication:
                self.publication = publication
                conn.respond(conn.session.accept_announce(request))
                started = True
                task_status.started()
                try:
                    await self.end.wait()
                finally:  # what the depacketizers still hold, even when cancelled
                    if self.adapter is not None:
                        self.send(self.adapter.flush())
            if publication.stop_reason:
                conn.close()
        except PublishRejected as exc:
            status = REFUSAL_STATUS.get(exc.refusal, 403)
            headers = []
            if status == 401:
                headers.append(("WWW-Authenticate", listener.auth.challenge()))
            conn.respond(conn.session.refuse(request, status, exc.reason, headers))
        finally:
            adapter = self.adapter
            if adapter is not None and (adapter.lost or adapter.dropped or adapter.malformed):
                log.info(
                    "rtsp %s:%s %s: %d packets lost, %d dropped, %d malformed",
                    *conn.peer,
                    shown(event.path),
                    adapter.lost,
                    adapter.dropped,
                    adapter.malformed,
                )
            self.publication = None
            self.adapter = None
            self.recording = False
            if not started:
                task_status.started()

    def start(self, media: list[ss.MediaTransport]) -> None:
        """RECORD: take RTP on the transports set up."""
        conn = self.conn
        conn.media = media
        now = time.monotonic()
        if self.adapter is not None:  # RECORD after PAUSE: carry on
            self.recording = True
            conn.last_media = now
            return
        settings = conn.settings
        adapter = self.adapter = PublishAdapter(
            conn.session.received,
            udp=any(not m.tcp for m in media),
            reorder_size=settings.reorder_packets,
            reorder_wait=settings.reorder_wait,
        )
        for m in media:
            if m.tcp:
                adapter.route(m.channels[0], m.index, False)
                adapter.route(m.channels[1], m.index, True)
        conn.route(media, self.udp_rtp, self.udp_rtcp)
        self.recording = True
        conn.last_media = now

    def stop(self) -> None:
        """TEARDOWN or the connection closed: end the publication."""
        self.end.set()
        self.recording = False

    def expire(self, now: float) -> None:
        """Publish what UDP gaps older than ``reorder_wait`` held back (the watchdog's turn)."""
        if self.adapter is not None:
            self.send(self.adapter.expire(now))

    def send_reports(self, now: float) -> None:
        """One receiver report per medium (RFC 3550 6.4.2), on its RTCP channel or port."""
        assert self.adapter is not None
        conn = self.conn
        by_index = {m.index: m for m in conn.media}
        for index, report in self.adapter.receiver_reports(now):
            medium = by_index.get(index)
            if medium is None:
                continue
            if medium.tcp:
                conn.write(interleaved(medium.channels[1], report))
            elif conn.udp is not None:
                conn.udp.send_rtcp((conn.peer[0], medium.client_ports[1]), report)
