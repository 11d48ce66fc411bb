"""The SRT publish path: a caller's stream id and port → a headwater publication, and its
MPEG-TS payload → frames (the adapter layer between the SRT wire and the core).

Order of decisions, so that every refusal reaches the caller as a handshake rejection
before anything is registered: parse the stream id, then ``server.publish``, which resolves
the name (the ``resolve_name`` hooks, the port resolver among them) and finds the stream's
settings, calls our ``check`` to compare the caller's encryption with the stream's
``srt_publish.passphrase``, authorizes and registers; only then is the SRT connection
accepted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from headwater import (
    Frame,
    HandshakeRejected,
    PublishRejected,
    PublishRequest,
    Refusal,
    StreamSettings,
)
from headwater.media.mpegts.reader import TSReader

from .caller import Caller, Refused, Session, refusal_text
from .wire.rejection import RejectReason
from .wire.streamid import PUBLISH_MODES, StreamIdError, parse_stream_id

if TYPE_CHECKING:
    from headwater import Publication, Server

log = logging.getLogger("headwater.srt")

REJECTIONS: dict[Refusal, RejectReason] = {
    Refusal.BAD_NAME: RejectReason.X_BAD_REQUEST,
    Refusal.NOT_FOUND: RejectReason.X_NOTFOUND,
    Refusal.UNAUTHORIZED: RejectReason.X_UNAUTHORIZED,
    Refusal.FORBIDDEN: RejectReason.X_FORBIDDEN,
    Refusal.BUSY: RejectReason.X_CONFLICT,
    Refusal.LIMIT: RejectReason.X_OVERLOAD,
}
"""How a core refusal reads as an SRT rejection code (``SRT_REJX_*``)."""


def passphrase_of(settings: StreamSettings) -> str | None:
    """The stream's SRT passphrase (``srt_publish.passphrase``), or None."""
    srt = settings.srt_publish
    return srt.passphrase if srt is not None and srt.passphrase else None


class SecretMismatch(HandshakeRejected):
    """The caller's encryption does not fit the stream's passphrase (BADSECRET/UNSECURE)."""

    def __init__(self, reason: RejectReason) -> None:
        super().__init__(reason.name)
        self.reason = reason


class SRTPublisher:
    """Handles each SRT caller of a listener as a publisher on ``server``."""

    def __init__(self, server: Server) -> None:
        self.server = server

    async def __call__(self, caller: Caller) -> None:
        """Decide on the caller, then publish its stream until it leaves."""
        ip, port = caller.peer
        try:
            sid = parse_stream_id(caller.stream_id)
        except StreamIdError as exc:
            self._refuse(caller, RejectReason.X_BAD_REQUEST, str(exc))
            return
        if sid.mode not in PUBLISH_MODES:
            self._refuse(caller, RejectReason.X_BAD_MODE, f"mode {sid.mode!r} is not served")
            return
        request = PublishRequest(
            proto="srt",
            path=sid.name,
            args=sid.args,
            peer=(ip, port),
            local_port=caller.local_port,
            stream_id=caller.stream_id,
        )
        passphrase: str | None = None

        def check_secret(settings: StreamSettings) -> None:
            nonlocal passphrase
            passphrase = passphrase_of(settings)
            problem = caller.check_secret(passphrase)
            if problem is not None:
                raise SecretMismatch(problem)

        try:
            async with self.server.publish(request, check=check_secret) as publication:
                try:
                    session = caller.accept(passphrase)
                except Refused as exc:
                    publication.stop(str(exc))
                    return
                await self._pump(session, publication)
        except SecretMismatch as exc:
            self._refuse(caller, exc.reason, refusal_text(exc.reason, caller.encrypted), request)
        except PublishRejected as exc:
            caller.reject(REJECTIONS[exc.refusal])

    async def _pump(self, session: Session, publication: Publication) -> None:
        reader = TSReader()
        send = publication.send
        publication.set_input_stats(lambda: live_counters(session))
        try:
            async for chunk in session:
                publication.add_bytes(len(chunk))
                for event in reader.feed(chunk):
                    if type(event) is Frame:
                        send(event)
            for event in reader.flush():
                if type(event) is Frame:
                    send(event)
        finally:
            st = session.connection.receiver.stats
            log.info(
                "%s: SRT caller %s:%s left (%s): %d packets, %d lost, %d recovered, "
                "%d dropped too late",
                publication.name,
                *session.peer,
                session.close_reason or "stopped",
                st.packets,
                st.lost,
                st.recovered,
                st.dropped,
            )

    def _refuse(
        self,
        caller: Caller,
        reason: RejectReason,
        text: str,
        request: PublishRequest | None = None,
    ) -> None:
        what = (request and request.name) or caller.stream_id or f"port {caller.local_port}"
        log.warning("refused srt publish from %s (%s): %s", caller.peer[0], what, text)
        caller.reject(reason)


def live_counters(session: Session) -> dict[str, int | float]:
    """The SRT receiver's counters as the API shows them under ``stats.input``."""
    receiver = session.connection.receiver
    st = receiver.stats
    return {
        "srt_rtt": round(receiver.rtt / 1000, 3),
        "srt_rtt_var": round(receiver.rtt_var / 1000, 3),
        "srt_packets": st.packets,
        "srt_lost": st.lost,
        "srt_retransmitted": st.retransmitted,
        "srt_recovered": st.recovered,
        "srt_dropped": st.dropped,
        "srt_naks_sent": st.naks_sent,
    }
