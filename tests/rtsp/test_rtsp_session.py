"""The RTSP server session state machine (RFC 2326 A.1), driven by the requests real
clients send, with no sockets: publish flows over TCP and UDP, play flows, and every
refusal with the status it must carry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.media.frames import Codec, Track
from headwater.media.rtp.formats import media_for_track
from headwater.media.sdp import SessionDescription
from headwater_rtsp.wire.message import Headers, MessageReader, Request
from headwater_rtsp.wire.session import (
    Announce,
    Describe,
    Paused,
    PlayStarted,
    RecordStarted,
    ServerSession,
    State,
    TornDown,
)

URL = "rtsp://127.0.0.1:8554/live/cam1"
SDP = (
    b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nt=0 0\r\n"
    b"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
    b"a=control:streamid=0\r\n"
    b"m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n"
    b"a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
    b"indexdeltalength=3;config=1190\r\na=control:streamid=1\r\n"
)


def req(method, url=URL, body=b"", cseq=[0], **headers):  # noqa: B006 (a counter)
    cseq[0] += 1
    h = Headers([("CSeq", str(cseq[0]))] + [(k.replace("_", "-"), v) for k, v in headers.items()])
    return Request(method, url, h, body)


def announce(session, url=URL, sdp=SDP):
    response, event = session.receive(req("ANNOUNCE", url, sdp, Content_Type="application/sdp"))
    assert response is None and isinstance(event, Announce)
    return session.accept_announce(event.request), event


def status(pair):
    return pair[0].status


@pytest.mark.parametrize(
    ("transports", "expected"),
    [
        (
            [
                "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
                "RTP/AVP/TCP;unicast;interleaved=2-3;mode=record",
            ],
            [
                "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
                "RTP/AVP/TCP;unicast;interleaved=2-3;mode=record",
            ],
        ),
        (
            [
                "RTP/AVP/UDP;unicast;client_port=5000-5001;mode=record",
                "RTP/AVP/UDP;unicast;client_port=5002-5003;mode=record",
            ],
            [
                "RTP/AVP/UDP;unicast;client_port=5000-5001;server_port=8000-8001;mode=record",
                "RTP/AVP/UDP;unicast;client_port=5002-5003;server_port=8000-8001;mode=record",
            ],
        ),
    ],
    ids=["tcp", "udp"],
)
def test_ffmpeg_publish_flow(transports, expected):
    s = ServerSession(server_ports=(8000, 8001), timeout=60)
    r, e = s.receive(req("OPTIONS"))
    assert r.status == 200 and "ANNOUNCE" in r.headers["Public"] and e is None
    response, event = announce(s, URL + "?password=x")
    assert response.status == 200 and event.path == "live/cam1"
    assert event.args == {"password": "x"}
    assert [f.track.codec for f in event.formats] == [Codec.H264, Codec.AAC]
    for i, (offer, answer) in enumerate(zip(transports, expected, strict=True)):
        r, _ = s.receive(req("SETUP", f"{URL}/streamid={i}", Transport=offer))
        assert r.status == 200 and r.headers["Transport"] == answer
        assert r.headers["Session"] == f"{s.session_id};timeout=60"
        assert r.headers["CSeq"]
    r, e = s.receive(req("RECORD", URL, Session=s.session_id, Range="npt=0.000-"))
    assert r.status == 200 and isinstance(e, RecordStarted) and len(e.media) == 2
    assert s.state is State.RECORDING
    assert status(s.receive(req("GET_PARAMETER", Session=s.session_id))) == 200
    # GStreamer's rtspclientsink pauses at the end of its stream; RECORD would resume
    assert status(s.receive(req("PAUSE", URL, Session=s.session_id))) == 200
    assert s.state is State.ANNOUNCED
    assert status(s.receive(req("RECORD", URL, Session=s.session_id))) == 200
    r, e = s.receive(req("TEARDOWN", Session=s.session_id))
    assert r.status == 200 and isinstance(e, TornDown) and s.state is State.INIT


def test_every_response_echoes_cseq():
    s = ServerSession()
    raw = b"OPTIONS * RTSP/1.0\r\nCSeq: 42\r\n\r\n"
    (request,) = MessageReader().feed(raw)
    response, _ = s.receive(request)
    assert response.to_bytes().startswith(b"RTSP/1.0 200 OK\r\nCSeq: 42\r\n")


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([("RECORD", URL, {})], 455),
        ([("SETUP", URL + "/streamid=0", {"Transport": "RTP/AVP/TCP;interleaved=0-1"})], 455),
        ([("PLAY", URL, {})], 455),
        ([("PAUSE", URL, {})], 455),
        ([("REDIRECT", URL, {})], 501),
        ([("OPTIONS", URL, {"Session": "nope"}), ("GET_PARAMETER", URL, {})], 200),
        ([("SET_PARAMETER", URL, {"_body": b"x: y"})], 451),
    ],
    ids=["record-first", "setup-first", "play-first", "pause-first", "unknown", "options", "set"],
)
def test_out_of_order_requests(steps, expected):
    s = ServerSession()
    for method, url, headers in steps:
        body = headers.pop("_body", b"")
        r, _ = s.receive(req(method, url, body, **headers))
    assert r.status == expected


@pytest.mark.parametrize(
    ("content_type", "sdp", "expected"),
    [
        ("text/plain", SDP, 400),
        ("application/sdp", b"not sdp", 400),
        ("application/sdp", b"v=0\r\ns=x\r\n", 400),
        ("application/sdp", b"v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n", 415),
    ],
)
def test_bad_announce(content_type, sdp, expected):
    s = ServerSession()
    r, e = s.receive(req("ANNOUNCE", URL, sdp, Content_Type=content_type))
    assert r.status == expected and e is None and "X-Reason" in r.headers


def test_record_needs_every_medium_set_up_and_the_announced_path():
    s = ServerSession(server_ports=(8000, 8001))
    announce(s)
    s.receive(req("SETUP", URL + "/streamid=0", Transport="RTP/AVP/TCP;interleaved=0-1"))
    assert status(s.receive(req("RECORD", URL, Session=s.session_id))) == 455
    # mixing UDP into a TCP session is refused
    offer = "RTP/AVP;unicast;client_port=5000-5001;mode=record"
    assert status(s.receive(req("SETUP", URL + "/streamid=1", Transport=offer))) == 461
    # a medium twice is refused
    again = "RTP/AVP/TCP;interleaved=4-5"
    assert status(s.receive(req("SETUP", URL + "/streamid=0", Transport=again))) == 455
    # the same channels twice are refused
    same = "RTP/AVP/TCP;interleaved=0-1"
    assert status(s.receive(req("SETUP", URL + "/streamid=1", Transport=same))) == 461
    s.receive(req("SETUP", URL + "/streamid=1", Transport="RTP/AVP/TCP;interleaved=2-3"))
    other = "rtsp://127.0.0.1:8554/live/other"
    assert status(s.receive(req("RECORD", other, Session=s.session_id))) == 455
    assert status(s.receive(req("RECORD", URL, Session="WRONG"))) == 454
    assert status(s.receive(req("RECORD", URL, Session=s.session_id))) == 200


def test_udp_needs_client_port_and_a_server_pair():
    s = ServerSession(server_ports=None)
    announce(s)
    offer = "RTP/AVP;unicast;client_port=5000-5001;mode=record"
    assert status(s.receive(req("SETUP", URL + "/streamid=0", Transport=offer))) == 461
    s2 = ServerSession(server_ports=(1, 2))
    announce(s2)
    offer = "RTP/AVP;unicast;mode=record"
    assert status(s2.receive(req("SETUP", URL + "/streamid=0", Transport=offer))) == 461
    # several offers: the first we take wins
    offers = "RTP/AVP;unicast;mode=record,RTP/AVP/TCP;unicast;interleaved=6-7;mode=record"
    r, _ = s2.receive(req("SETUP", URL + "/streamid=0", Transport=offers))
    assert r.headers["Transport"] == "RTP/AVP/TCP;unicast;interleaved=6-7;mode=record"


def test_refused_announce_leaves_the_session_fresh():
    s = ServerSession()
    _, event = s.receive(req("ANNOUNCE", URL, SDP, Content_Type="application/sdp"))
    r = s.refuse(event.request, 401, "password required", [("WWW-Authenticate", "Basic")])
    assert r.status == 401 and r.headers["WWW-Authenticate"] == "Basic"
    assert s.state is State.INIT
    response, _ = announce(s)
    assert response.status == 200


def _described(s, url=URL):
    tracks = [
        Track(0, Codec.H264, parameter_sets=(b"\x67\x42\xc0\x1e", b"\x68\xce")),
        Track(1, Codec.AAC, config=b"\x11\x90"),
    ]
    sent = [media_for_track(t, 96 + t.id, f"trackID={t.id}") for t in tracks]
    _, event = s.receive(req("DESCRIBE", url, Accept="application/sdp"))
    assert isinstance(event, Describe) and event.path == "live/cam1"
    return s.accept_describe(event.request, SessionDescription(media=[f.media for f in sent]), sent)


@pytest.mark.parametrize("tcp", [True, False])
def test_play_flow(tcp):
    s = ServerSession(server_ports=(8000, 8001))
    r = _described(s)
    assert r.status == 200 and r.headers["Content-Base"] == URL + "/"
    assert b"a=control:trackID=1" in r.body
    for i in range(2):
        offer = (
            f"RTP/AVP/TCP;unicast;interleaved={2 * i}-{2 * i + 1}"
            if tcp
            else f"RTP/AVP;unicast;client_port={6000 + 2 * i}-{6001 + 2 * i}"
        )
        r, _ = s.receive(req("SETUP", f"{URL}/trackID={i}", Transport=offer))
        assert r.status == 200 and "mode=record" not in r.headers["Transport"]
    s.rtp_starts = [(100, 5000), (200, 6000)]
    r, e = s.receive(req("PLAY", URL + "/", Session=s.session_id, Range="npt=0.000-"))
    assert r.status == 200 and isinstance(e, PlayStarted) and [m.tcp for m in e.media] == [tcp] * 2
    assert r.headers["RTP-Info"] == (
        f"url={URL}/trackID=0;seq=100;rtptime=5000,url={URL}/trackID=1;seq=200;rtptime=6000"
    )
    r, e = s.receive(req("PAUSE", URL + "/", Session=s.session_id))
    assert isinstance(e, Paused) and s.state is State.READY
    r, e = s.receive(req("PLAY", URL + "/", Session=s.session_id))
    assert isinstance(e, PlayStarted) and "RTP-Info" not in r.headers


def test_vlc_aggregate_setup_takes_the_next_track():
    s = ServerSession()
    _described(s)
    r1, _ = s.receive(req("SETUP", URL, Transport="RTP/AVP/TCP;unicast"))
    r2, _ = s.receive(req("SETUP", URL + "/", Transport="RTP/AVP/TCP;unicast"))
    assert "interleaved=0-1" in r1.headers["Transport"]
    assert "interleaved=2-3" in r2.headers["Transport"]
    r3, _ = s.receive(req("SETUP", URL, Transport="RTP/AVP/TCP;unicast"))
    assert r3.status == 459
    assert status(s.receive(req("SETUP", URL + "/trackID=7", Transport="RTP/AVP/TCP"))) == 404


def test_setup_for_another_path_is_404():
    s = ServerSession()
    _described(s)
    other = "rtsp://127.0.0.1:8554/live/other/trackID=0"
    assert status(s.receive(req("SETUP", other, Transport="RTP/AVP/TCP"))) == 404
    assert status(s.receive(req("SETUP", URL + "/trackID=5", Transport="RTP/AVP/TCP"))) == 404


METHODS = [
    "OPTIONS",
    "ANNOUNCE",
    "SETUP",
    "RECORD",
    "PLAY",
    "PAUSE",
    "TEARDOWN",
    "GET_PARAMETER",
    "DESCRIBE",
    "FOO",
]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(METHODS),
            st.sampled_from([URL, URL + "/streamid=0", URL + "/trackID=1", "*", "rtsp://h/"]),
            st.sampled_from(["", "RTP/AVP/TCP;interleaved=0-1", "RTP/AVP;client_port=1-2", "x"]),
            st.booleans(),
        ),
        max_size=15,
    )
)
def test_fuzz_request_sequences(steps):
    """Any sequence of requests gets a response or an event, never an exception."""
    s = ServerSession(server_ports=(1, 2))
    for method, url, transport, with_session in steps:
        headers = {"Transport": transport} if transport else {}
        if with_session:
            headers["Session"] = s.session_id
        body = SDP if method == "ANNOUNCE" else b""
        if body:
            headers["Content_Type"] = "application/sdp"
        response, event = s.receive(req(method, url, body, **headers))
        assert response is not None or event is not None
        if isinstance(event, Announce):
            s.accept_announce(event.request)
        elif isinstance(event, Describe):
            _described(s)
