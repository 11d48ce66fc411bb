"""The playing side of one RTSP connection (DESCRIBE, SETUP, PLAY, PAUSE; RFC 2326 10.2,
10.5, 10.6): describing a live stream whatever protocol published it, and sending it from
its last keyframe as RTP over the interleaved channels or the listener's UDP pair, through
the :class:`~headwater_rtsp.adapter.PlayAdapter`. A player that does not keep up waits on
the transport (bounded by the watchdog's ``send_timeout``); its subscription, not the
publisher, drops to the next keyframe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus

from headwater import PlayRejected, shown
from headwater.media.rtp.formats import SentFormat, media_for_track
from headwater.media.sdp import SessionDescription
from headwater_rtsp.play_adapter import PlayAdapter
from headwater_rtsp.playback import PlayRefused, play, playable
from headwater_rtsp.wire import session as ss
from headwater_rtsp.wire.message import interleaved

if TYPE_CHECKING:
    from headwater_rtsp.connection import Connection

log = logging.getLogger("headwater.rtsp")


class Player:
    """What one connection plays: the described stream and the running subscription."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.playing = False
        self.scope: anyio.CancelScope | None = None
        self.formats: list[SentFormat] = []
        self.track_ids: list[int] = []
        self.stream: Any = None
        self.adapter: PlayAdapter | None = None

    async def describe(self, event: ss.Describe) -> None:
        """Answer DESCRIBE with the SDP of a live stream, whatever protocol published it."""
        conn = self.conn
        request = event.request
        try:
            stream = playable(conn.server, event.path, event.args, conn.peer)
        except PlayRefused as exc:
            log.info(
                "rtsp %s:%s DESCRIBE %s: %d %s", *conn.peer, shown(event.path), exc.status, exc
            )
            conn.respond(conn.session.refuse(request, exc.status, exc.reason))
            return
        deadline = time.monotonic() + conn.settings.describe_wait
        while not (stream.tracks and (len(stream.tracks) > 1 or _settled(stream))):
            if time.monotonic() >= deadline:  # polled: the core has no "tracks known" event
                break
            await anyio.sleep(0.05)
        sent: list[SentFormat] = []
        ids: list[int] = []
        for track in stream.tracks:
            fmt = media_for_track(track, 96 + len(sent), f"trackID={len(sent)}")
            if fmt is not None:
                sent.append(fmt)
                ids.append(track.id)
        if not sent:
            reason = f"stream {shown(event.path)} has no track RTSP can carry"
            log.info("rtsp %s:%s DESCRIBE %s: 415 %s", *conn.peer, shown(event.path), reason)
            conn.respond(conn.session.refuse(request, 415, reason))
            return
        session = conn.session
        description = SessionDescription(
            origin=f"- {session.session_id[:8]} 1 IN IP4 {conn.local[0] or '0.0.0.0'}",
            name=event.path,
            connection="IN IP4 0.0.0.0",
            attributes=[("tool", "headwater"), ("control", "*"), ("range", "npt=0-")],
            media=[f.media for f in sent],
        )
        self.formats, self.track_ids, self.stream = sent, ids, stream
        self.adapter = PlayAdapter(sent, ids, time.time())
        session.rtp_starts = self.adapter.rtp_info()
        session.played = False
        conn.respond(session.accept_describe(request, description, sent))

    async def play(
        self,
        media: list[ss.MediaTransport],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Send the stream from its last keyframe until it ends, the player pauses or leaves."""
        conn = self.conn
        conn.media = media
        conn.route(media, self._udp_packet, self._udp_packet)
        wanted = {m.index for m in media}
        adapter = self.adapter
        if adapter is None:  # the session only plays after a DESCRIBE on this connection
            task_status.started()
            return
        if not adapter.started:
            adapter.wall_clock = time.time()
        targets = {m.index: m for m in media}
        scope = anyio.CancelScope()
        self.scope = scope
        self.playing = True
        task_status.started()
        ended = False
        try:
            subscription = play(conn.server, conn.session.path, conn.session.args, conn.peer)
            with scope:
                async with subscription as sub:
                    ended = await self._send_frames(sub, adapter, targets, wanted)
        except PlayRejected as exc:  # the stream ended between DESCRIBE and PLAY
            log.info("rtsp %s:%s PLAY %s: %s", *conn.peer, shown(conn.session.path), exc.reason)
            ended = True
        self.playing = False
        if ended:  # the publication ended: close, so that players stop at once
            conn.close()

    async def _send_frames(
        self,
        sub: Any,
        adapter: PlayAdapter,
        targets: dict[int, ss.MediaTransport],
        wanted: set[int],
    ) -> bool:
        """Packetize and send until the subscription ends (True) or we are cancelled."""
        conn = self.conn
        pause = conn.settings.play_interval
        async for frame in sub:
            out: list[bytes] = []
            for f in (frame, *sub.drain()):
                self._send(adapter.packets(f), targets, wanted, out)
            if out:
                conn.write(b"".join(out))
            if conn.paused_since:
                await conn.writable.wait()  # the watchdog bounds this wait
            elif pause:
                await asyncio.sleep(pause)  # let frames gather: one write serves them all
        return True

    def _send(
        self,
        packets: list[tuple[int, bool, bytes]],
        targets: dict[int, ss.MediaTransport],
        wanted: set[int],
        out: list[bytes],
    ) -> None:
        conn = self.conn
        udp = conn.udp
        for index, rtcp, packet in packets:
            if index not in wanted:
                continue
            medium = targets[index]
            if medium.tcp:
                out.append(interleaved(medium.channels[1 if rtcp else 0], packet))
            elif udp is not None:
                port = medium.client_ports[1 if rtcp else 0]
                (udp.send_rtcp if rtcp else udp.send_rtp)((conn.peer[0], port), packet)

    def _udp_packet(self, index: int, data: bytes, now: float) -> None:
        self.conn.last_media = now  # RTCP receiver reports (or NAT punches) keep it alive

    def stop(self) -> None:
        """PAUSE or TEARDOWN: stop sending."""
        if self.scope is not None:
            self.scope.cancel()
            self.scope = None
        self.playing = False


def _settled(stream: Any) -> bool:
    """A single-track stream has been live for a second: it will not get another track."""
    started = getattr(stream.stats, "started_at", 0) or 0
    return bool(started) and time.time() - started > 1.0
