"""The server side of an RTSP session as a sans-I/O state machine (RFC 2326 sections 10,
A.1; RFC 7826 section 13 for the edge cases).

:meth:`ServerSession.receive` takes one parsed :class:`Request` and returns a
:class:`Response` to send now, an event for the caller, or both. Requests that need the
server (authorizing a publisher, describing a stream) come back as :class:`Announce` and
:class:`Describe` events without a response; the caller answers them with
:meth:`ServerSession.accept_announce`, :meth:`ServerSession.accept_describe` or
:meth:`ServerSession.refuse`. States::

    INIT --ANNOUNCE--> ANNOUNCED --SETUP*--> ANNOUNCED --RECORD--> RECORDING --PAUSE--> ANNOUNCED
    INIT --DESCRIBE--> DESCRIBED --SETUP*--> READY --PLAY--> PLAYING <--PAUSE/PLAY--> READY
    any  --TEARDOWN--> INIT

A publisher must set up every announced medium before RECORD, on the announced path; all
media of a session use one transport kind (interleaved TCP or UDP). Every response echoes
``CSeq``; from the first SETUP on it carries ``Session: ID;timeout=N``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum

from headwater import shown
from headwater.media.rtp.formats import (
    ReceivedFormat,
    SentFormat,
    UnsupportedFormat,
    track_from_media,
)
from headwater.media.sdp import SDPError, SessionDescription, parse_sdp
from headwater_rtsp.wire.message import Headers, Request, Response, RTSPError
from headwater_rtsp.wire.names import split_url, url_path
from headwater_rtsp.wire.transport import Transport, parse_transports

PUBLIC = (
    "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, GET_PARAMETER, SET_PARAMETER, "
    "TEARDOWN"
)
SERVER = "headwater"


class State(Enum):
    """Where a session is in its life (see the module docstring)."""

    INIT = "init"
    ANNOUNCED = "announced"
    RECORDING = "recording"
    DESCRIBED = "described"
    READY = "ready"
    PLAYING = "playing"


@dataclass(slots=True)
class MediaTransport:
    """How one medium of the session travels."""

    index: int
    tcp: bool
    channels: tuple[int, int] = (0, 1)
    """Interleaved channels (RTP, RTCP) for TCP."""
    client_ports: tuple[int, int] = (0, 0)
    """The client's UDP ports (RTP, RTCP) for UDP."""


@dataclass(slots=True)
class Announce:
    """A publisher announced a stream: authorize and publish it, then answer."""

    request: Request
    path: str
    args: dict[str, str]
    description: SessionDescription
    formats: list[ReceivedFormat | None]
    """One entry per media section; None for a medium we do not take (ignored)."""


@dataclass(slots=True)
class Describe:
    """A player asks for a stream's description: find it, then answer."""

    request: Request
    path: str
    args: dict[str, str]


@dataclass(slots=True)
class RecordStarted:
    """The publisher starts sending media (on the transports set up)."""

    media: list[MediaTransport]


@dataclass(slots=True)
class PlayStarted:
    """The player wants media from now on (first PLAY, or PLAY after PAUSE)."""

    media: list[MediaTransport]


@dataclass(slots=True)
class Paused:
    """The player paused: stop sending, keep the session."""


@dataclass(slots=True)
class TornDown:
    """The client ended the session (publication or playback)."""


Event = Announce | Describe | RecordStarted | PlayStarted | Paused | TornDown


@dataclass
class ServerSession:
    """One RTSP session on one client connection."""

    server_ports: tuple[int, int] | None = None
    """The UDP (RTP, RTCP) pair the server receives and sends on; None: no UDP."""
    timeout: int = 60
    """Seconds announced in ``Session: ID;timeout=N``."""
    session_id: str = field(default_factory=lambda: os.urandom(8).hex().upper())
    state: State = State.INIT
    path: str = ""
    args: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    received: list[ReceivedFormat | None] = field(default_factory=list)
    """Announced media (publishing), in SDP order."""
    sent: list[SentFormat] = field(default_factory=list)
    """Described media (playing), in SDP order."""
    controls: list[str] = field(default_factory=list)
    """The control URL of each medium, absolute."""
    media: dict[int, MediaTransport] = field(default_factory=dict)
    """Media set up so far, by index."""
    established: bool = False
    """True once a SETUP created the session (its id is then required)."""
    rtp_starts: list[tuple[int, int]] = field(default_factory=list)
    """(first sequence number, RTP time of the start) of each described medium, for the
    ``RTP-Info`` header of the first PLAY (RFC 2326 12.33); empty: no header."""
    played: bool = False

    # -- input -------------------------------------------------------------------------------

    def receive(self, request: Request) -> tuple[Response | None, Event | None]:
        """Handle one request: a response to send now and/or an event for the caller."""
        method = request.method
        try:
            self._check_session(request)
            handler = getattr(self, f"_{method.lower()}", None)
            if handler is None or method not in PUBLIC:
                return self.response(request, 501), None
            return handler(request)
        except RTSPError as exc:
            return self.response(request, exc.status, reason_header=str(exc)), None

    def _check_session(self, request: Request) -> None:
        given = request.headers.get("Session")
        if given is None:
            return
        ident = given.split(";", 1)[0].strip()
        if not self.established or ident != self.session_id:
            if request.method in ("OPTIONS", "GET_PARAMETER") and not self.established:
                return
            raise RTSPError(f"unknown session {shown(ident, 40)}", 454)

    # -- responses ---------------------------------------------------------------------------

    def response(
        self,
        request: Request,
        status: int = 200,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        reason_header: str = "",
    ) -> Response:
        """A response to ``request``: CSeq echoed, Server and Session headers set."""
        h = Headers()
        cseq = request.cseq
        if cseq is not None:
            h["CSeq"] = cseq
        h["Server"] = SERVER
        if self.established:
            h["Session"] = f"{self.session_id};timeout={self.timeout}"
        for name, value in headers or ():
            h[name] = value
        if reason_header and status >= 400:
            h["X-Reason"] = reason_header.replace("\r", " ").replace("\n", " ")[:200]
        return Response(status, h, body)

    def refuse(
        self, request: Request, status: int, reason: str, headers: list[tuple[str, str]] = ()
    ) -> Response:
        """The answer to an ANNOUNCE or DESCRIBE the caller refused (401, 403, 404...)."""
        if request.method == "ANNOUNCE":
            self.state = State.INIT
        return self.response(request, status, list(headers), reason_header=reason)

    # -- methods -----------------------------------------------------------------------------

    def _options(self, request: Request) -> tuple[Response, None]:
        return self.response(request, headers=[("Public", PUBLIC)]), None

    def _get_parameter(self, request: Request) -> tuple[Response, None]:
        return self.response(request), None

    def _set_parameter(self, request: Request) -> tuple[Response, None]:
        if request.body.strip():
            return self.response(request, 451, reason_header="no parameter can be set"), None
        return self.response(request), None

    def _announce(self, request: Request) -> tuple[None, Announce]:
        if self.state is not State.INIT:
            raise RTSPError(f"ANNOUNCE in state {self.state.value}", 455)
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type.lower() != "application/sdp":
            raise RTSPError(
                f"ANNOUNCE body is {shown(content_type) if content_type else 'missing'}, "
                "not application/sdp"
            )
        try:
            description = parse_sdp(request.body)
        except SDPError as exc:
            raise RTSPError(f"bad SDP: {exc}") from None
        if not description.media:
            raise RTSPError("the SDP announces no media")
        formats: list[ReceivedFormat | None] = []
        problems = []
        for index, media in enumerate(description.media):
            try:
                formats.append(track_from_media(media, index))
            except (UnsupportedFormat, SDPError) as exc:
                formats.append(None)
                problems.append(str(exc))
        if not any(formats):
            raise RTSPError(f"no supported media: {'; '.join(problems)}", 415)
        path, args, _ = split_url(request.url)
        if not path:
            raise RTSPError("ANNOUNCE without a stream name in the URL", 400)
        self.path, self.args, self.base_url = path, args, request.url.split("?", 1)[0]
        self.controls = [self._control(request.url, m.control) for m in description.media]
        self.received = formats
        return None, Announce(request, path, args, description, formats)

    def accept_announce(self, request: Request) -> Response:
        """The publisher may go on: SETUP each medium, then RECORD."""
        self.state = State.ANNOUNCED
        return self.response(request)

    def _describe(self, request: Request) -> tuple[None, Describe]:
        if self.state not in (State.INIT, State.DESCRIBED, State.READY):
            raise RTSPError(f"DESCRIBE in state {self.state.value}", 455)
        path, args, _ = split_url(request.url)
        if not path:
            raise RTSPError("DESCRIBE without a stream name in the URL", 404)
        return None, Describe(request, path, args)

    def accept_describe(
        self, request: Request, description: SessionDescription, sent: list[SentFormat]
    ) -> Response:
        """Answer a DESCRIBE with the SDP of ``sent`` (whose controls are ``trackID=N``)."""
        path, args, _ = split_url(request.url)
        self.path, self.args = path, args
        base = request.url.split("?", 1)[0].rstrip("/") + "/"
        self.base_url = base
        self.sent = sent
        self.controls = [self._control(base, f.media.control) for f in sent]
        if self.state is State.INIT:
            self.state = State.DESCRIBED
        headers = [("Content-Base", base), ("Content-Type", "application/sdp")]
        return self.response(request, headers=headers, body=description.to_bytes())

    def _setup(self, request: Request) -> tuple[Response, None]:
        header = request.headers.get("Transport")
        if not header:
            raise RTSPError("SETUP without a Transport header", 461)
        offers = parse_transports(header)
        if self.state is State.ANNOUNCED:
            count = len(self.received)
        elif self.state in (State.DESCRIBED, State.READY):
            count = len(self.sent)
        elif self.state is State.INIT:
            raise RTSPError("SETUP before ANNOUNCE or DESCRIBE", 455)
        else:
            raise RTSPError(f"SETUP in state {self.state.value}", 455)
        index = self._media_index(request.url, count)
        if index in self.media:
            raise RTSPError(f"medium {index} is already set up", 455)
        recording = self.state is State.ANNOUNCED
        chosen = self._choose(offers, index, recording)
        if chosen is None:
            raise RTSPError("no offered transport is supported", 461)
        setup, answer = chosen
        self.media[index] = setup
        self.established = True
        if self.state is State.DESCRIBED:
            self.state = State.READY
        return self.response(request, headers=[("Transport", answer.to_header())]), None

    def _media_index(self, url: str, count: int) -> int:
        path, _, track = split_url(url)
        full = url_path(url)
        for i, control in enumerate(self.controls):
            if url_path(control) == full:
                return i
        if path != self.path:
            raise RTSPError(f"SETUP for {shown(path)}, not the session's {shown(self.path)}", 404)
        if track is not None:
            if track < count:
                return track
            raise RTSPError(f"no track {track} in {shown(self.path)}", 404)
        # The aggregate URL: the first medium not set up yet (VLC, single-track clients).
        for i in range(count):
            if i not in self.media:
                return i
        raise RTSPError("every medium is already set up", 459)

    def _choose(
        self, offers: list[Transport], index: int, recording: bool
    ) -> tuple[MediaTransport, Transport] | None:
        kinds = {m.tcp for m in self.media.values()}
        for offer in offers:
            if not offer.unicast or (kinds and offer.tcp not in kinds):
                continue
            if offer.tcp:
                channels = offer.interleaved or (2 * index, 2 * index + 1)
                used = {c for m in self.media.values() if m.tcp for c in m.channels}
                if channels[0] in used or channels[1] in used:
                    continue
                answer = Transport("RTP/AVP/TCP", interleaved=channels, record=recording)
                return MediaTransport(index, True, channels=channels), answer
            if self.server_ports is None or offer.client_port is None:
                continue
            answer = Transport(
                offer.protocol,
                client_port=offer.client_port,
                server_port=self.server_ports,
                record=recording,
            )
            return MediaTransport(index, False, client_ports=offer.client_port), answer
        return None

    def _record(self, request: Request) -> tuple[Response, RecordStarted]:
        if self.state is not State.ANNOUNCED:
            raise RTSPError(f"RECORD in state {self.state.value}", 455)
        if url_path(request.url) not in (self.path, url_path(self.base_url)):
            raise RTSPError(
                f"RECORD for {shown(url_path(request.url))}, not {shown(self.path)}", 455
            )
        missing = [i for i, f in enumerate(self.received) if f is not None and i not in self.media]
        if missing:
            raise RTSPError(f"RECORD before SETUP of media {missing}", 455)
        self.state = State.RECORDING
        media = sorted(self.media.values(), key=lambda m: m.index)
        return self.response(request), RecordStarted(media)

    def _play(self, request: Request) -> tuple[Response, PlayStarted | None]:
        if self.state is State.PLAYING:
            return self.response(request), None
        if self.state is not State.READY:
            raise RTSPError(f"PLAY in state {self.state.value}", 455)
        self.state = State.PLAYING
        media = sorted(self.media.values(), key=lambda m: m.index)
        headers = [("Range", "npt=0.000-")]
        if self.rtp_starts and not self.played:
            headers.append(
                (
                    "RTP-Info",
                    ",".join(
                        f"url={self.controls[m.index]};seq={self.rtp_starts[m.index][0]};"
                        f"rtptime={self.rtp_starts[m.index][1]}"
                        for m in media
                        if m.index < len(self.rtp_starts)
                    ),
                )
            )
        self.played = True
        return self.response(request, headers=headers), PlayStarted(media)

    def _pause(self, request: Request) -> tuple[Response, Paused | None]:
        if self.state is State.PLAYING:
            self.state = State.READY
            return self.response(request), Paused()
        if self.state is State.READY:
            return self.response(request), None
        if self.state is State.RECORDING:  # RFC 2326 10.6: RECORD may resume it
            self.state = State.ANNOUNCED
            return self.response(request), None
        raise RTSPError(f"PAUSE in state {self.state.value}", 455)

    def _teardown(self, request: Request) -> tuple[Response, TornDown]:
        response = self.response(request)
        self.state = State.INIT
        self.media = {}
        self.established = False
        self.session_id = os.urandom(8).hex().upper()
        return response, TornDown()

    @staticmethod
    def _control(base: str, control: str) -> str:
        """An absolute control URL (RFC 2326 C.1.1: relative to the base, ``*`` the base)."""
        if not control or control == "*":
            return base
        if "://" in control:
            return control
        return base.split("?", 1)[0].rstrip("/") + "/" + control.lstrip("/")
