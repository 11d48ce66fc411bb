"""The Transport header (RFC 2326 12.39) and Basic/Digest authentication (RFC 7617, 2617)."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater_rtsp.wire.auth import Authenticator, digest_response, parse_authorization
from headwater_rtsp.wire.message import RTSPError
from headwater_rtsp.wire.transport import Transport, parse_transport, parse_transports

TRANSPORTS = [
    (
        "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
        Transport("RTP/AVP/TCP", interleaved=(0, 1), record=True),
    ),
    (
        "RTP/AVP;unicast;client_port=5000-5001;mode=record",
        Transport("RTP/AVP", client_port=(5000, 5001), record=True),
    ),
    ("RTP/AVP/UDP;unicast;client_port=6000", Transport("RTP/AVP/UDP", client_port=(6000, 6001))),
    (
        'RTP/AVP;unicast;client_port=6000-6001;mode="PLAY";ssrc=0000ABCD',
        Transport("RTP/AVP", client_port=(6000, 6001), ssrc=0xABCD),
    ),
    ("RTP/AVP;multicast;ttl=4", Transport("RTP/AVP", unicast=False, ttl=4)),
]


@pytest.mark.parametrize(("header", "expected"), TRANSPORTS, ids=[t[0] for t in TRANSPORTS])
def test_parse_transport(header, expected):
    t = parse_transport(header)
    assert t == expected
    assert parse_transport(t.to_header()) == t


def test_tcp_flag_and_preference_order():
    both = parse_transports("RTP/AVP;unicast;client_port=1-2, RTP/AVP/TCP;interleaved=2-3")
    assert [t.tcp for t in both] == [False, True]


@pytest.mark.parametrize(
    "header",
    ["RAW/RAW/UDP;unicast", "", "RTP/AVP;client_port=a-b", "RTP/AVP/TCP;interleaved=0-300"],
)
def test_unsupported_transport_is_461(header):
    with pytest.raises(RTSPError) as info:
        parse_transports(header)
    assert info.value.status == 461


@given(st.text(max_size=120))
def test_fuzz_transport(header):
    with contextlib.suppress(RTSPError):
        parse_transports(header)


def _basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic():
    auth = Authenticator()
    assert auth.challenge() == 'Basic realm="headwater"'
    assert auth.check(_basic("any", "s3cret"), "s3cret", "ANNOUNCE")
    assert not auth.check(_basic("any", "wrong"), "s3cret", "ANNOUNCE")
    assert not auth.check(None, "s3cret", "ANNOUNCE")
    assert not auth.check("Basic !!!", "s3cret", "ANNOUNCE")
    assert not auth.check("Bearer abc", "s3cret", "ANNOUNCE")


def test_digest_round_trip_and_refusals():
    auth = Authenticator(digest=True, secret=b"k" * 16)
    challenge = auth.challenge(now=1000)
    params = parse_authorization(challenge.replace("Digest", "Digest username=x, response=y,"))
    nonce = params.params["nonce"]
    good = digest_response("u", "pw", "ANNOUNCE", "rtsp://h/live/a", "headwater", nonce)
    assert auth.check(good, "pw", "ANNOUNCE", now=1010)
    assert not auth.check(good, "other", "ANNOUNCE", now=1010)
    assert not auth.check(good, "pw", "SETUP", now=1010)  # the method is hashed
    assert not auth.check(good, "pw", "ANNOUNCE", now=1000 + 301)  # stale nonce
    forged = digest_response("u", "pw", "ANNOUNCE", "rtsp://h/live/a", "headwater", "0" * 20)
    assert not auth.check(forged, "pw", "ANNOUNCE", now=1010)
    # Basic is still accepted when Digest is offered (clients that only know Basic)
    assert auth.check(_basic("u", "pw"), "pw", "ANNOUNCE")
    # Digest is refused when not configured (a client cannot pick its own nonce)
    assert not Authenticator(secret=b"k" * 16).check(good, "pw", "ANNOUNCE", now=1010)


def test_digest_with_qop():
    import hashlib

    auth = Authenticator(digest=True, secret=b"q" * 16)
    nonce = auth.nonce(now=50)

    def md5(s):
        return hashlib.md5(s.encode()).hexdigest()

    ha1, ha2 = md5("u:headwater:pw"), md5("ANNOUNCE:rtsp://h/x")
    response = md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
    header = (
        f'Digest username="u", realm="headwater", nonce="{nonce}", uri="rtsp://h/x", '
        f'qop=auth, nc=00000001, cnonce="abc", response="{response}"'
    )
    assert auth.check(header, "pw", "ANNOUNCE", now=60)


@given(st.text(max_size=200))
def test_fuzz_authorization(header):
    parse_authorization(header)
    Authenticator(digest=True).check(header, "pw", "ANNOUNCE")


def test_regression_digest_offered_to_clients_that_then_fail():
    """Some clients fail a Digest challenge: the default challenge is Basic, and a Basic
    answer is taken even where Digest is configured."""
    from headwater_rtsp.settings import RTSPSettings

    assert RTSPSettings().auth == "basic"
    assert Authenticator(digest=RTSPSettings().auth == "digest").challenge().startswith("Basic")
    assert Authenticator(digest=True).check(_basic("cam", "pw"), "pw", "ANNOUNCE")
