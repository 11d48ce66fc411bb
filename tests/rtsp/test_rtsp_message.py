"""RTSP messages (RFC 2326 section 6-7, 10.12): one case table drives parsing whole, byte by
byte and with trailing bytes, serializing back, the limits and the fuzzer."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater_rtsp.wire.message import (
    Headers,
    Interleaved,
    MessageReader,
    Request,
    Response,
    RTSPError,
    interleaved,
)

SDP = b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"

CASES = [
    (
        "options",
        b"OPTIONS rtsp://example.com/media.mp4 RTSP/1.0\r\nCSeq: 1\r\nRequire: implicit-play\r\n"
        b"Proxy-Require: gzipped-messages\r\n\r\n",
        Request(
            "OPTIONS",
            "rtsp://example.com/media.mp4",
            Headers(
                [("CSeq", "1"), ("Require", "implicit-play"), ("Proxy-Require", "gzipped-messages")]
            ),
        ),
    ),
    (
        "announce-with-body",
        b"ANNOUNCE rtsp://127.0.0.1:8554/live/cam RTSP/1.0\r\nContent-Type: application/sdp\r\n"
        b"CSeq: 2\r\nContent-Length: " + str(len(SDP)).encode() + b"\r\n\r\n" + SDP,
        Request(
            "ANNOUNCE",
            "rtsp://127.0.0.1:8554/live/cam",
            Headers(
                [
                    ("Content-Type", "application/sdp"),
                    ("CSeq", "2"),
                    ("Content-Length", str(len(SDP))),
                ]
            ),
            SDP,
        ),
    ),
    (
        "response",
        b"RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: 12345678;timeout=60\r\n\r\n",
        Response(200, Headers([("CSeq", "3"), ("Session", "12345678;timeout=60")]), reason="OK"),
    ),
    (
        "interleaved",
        b"$\x01\x00\x04abcd",
        Interleaved(1, b"abcd"),
    ),
    (
        "interleaved-empty",
        b"$\x00\x00\x00",
        Interleaved(0, b""),
    ),
]


def _feed(reader: MessageReader, data: bytes, step: int) -> list:
    out = []
    for i in range(0, len(data), step):
        out.extend(reader.feed(data[i : i + step]))
    return out


@pytest.mark.parametrize(("name", "wire", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("step", [1, 3, 1 << 20])
def test_parse(name, wire, expected, step):
    reader = MessageReader()
    assert _feed(reader, wire, step) == [expected]
    assert reader.buffered == 0


@pytest.mark.parametrize(("name", "wire", "expected"), CASES, ids=[c[0] for c in CASES])
def test_trailing_bytes_wait_for_the_next_message(name, wire, expected):
    reader = MessageReader()
    assert reader.feed(wire + b"OPTIONS * RTSP/1.0\r\nCS") == [expected]
    assert reader.feed(b"eq: 9\r\n\r\n") == [Request("OPTIONS", "*", Headers([("CSeq", "9")]))]


@pytest.mark.parametrize(("name", "wire", "expected"), CASES, ids=[c[0] for c in CASES])
def test_serialize_round_trip(name, wire, expected):
    data = expected.to_bytes()
    assert MessageReader().feed(data) == [expected]
    if name != "response":
        assert data == wire


def test_pipelined_requests_and_interleaved_frames_in_one_read():
    wire = b"".join(case[1] for case in CASES) + b"$\x02\x00\x01z" + CASES[0][1]
    got = MessageReader().feed(wire)
    assert got == [c[2] for c in CASES] + [Interleaved(2, b"z"), CASES[0][2]]


def test_headers_are_case_insensitive_and_settable():
    h = Headers([("cseq", "4"), ("Session", "abc")])
    assert h.get("CSEQ") == "4" and "session" in h and h["Session"] == "abc"
    h["CSeq"] = "5"
    assert list(h) == [("Session", "abc"), ("CSeq", "5")]
    assert h.get("Missing") is None and "Missing" not in h


def test_folded_header_and_bare_line_feeds():
    got = MessageReader().feed(b"OPTIONS * RTSP/1.0\nCSeq: 1\nUser-Agent: a\n  b\n\n")
    assert got == [Request("OPTIONS", "*", Headers([("CSeq", "1"), ("User-Agent", "a b")]))]


def test_stray_line_ends_between_messages_are_skipped():
    got = MessageReader().feed(b"\r\n" + CASES[0][1] + b"\r\n\r\n" + CASES[0][1])
    assert got == [CASES[0][2], CASES[0][2]]


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        (b"OPTIONS * HTTP/1.1\r\n\r\n", 505),
        (b"OPTIONS *\r\n\r\n", 400),
        (b"options * RTSP/1.0\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nContent-Length: x\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nContent-Length: -1\r\n\r\n", 400),
        (b"OPTIONS * RTSP/1.0\r\nContent-Length: 999999999\r\n\r\n", 413),
        (b"OPTIONS * RTSP/1.0\r\nX: \xff\r\n\r\n", 400),
        (b"RTSP/1.0 2x0 OK\r\n\r\n", 400),
    ],
)
def test_malformed_input_is_refused_with_a_status(wire, status):
    with pytest.raises(RTSPError) as info:
        MessageReader().feed(wire)
    assert info.value.status == status


def test_header_block_is_bounded():
    reader = MessageReader(max_header_bytes=256)
    reader.feed(b"OPTIONS * RTSP/1.0\r\n")
    with pytest.raises(RTSPError, match="longer than 256"):
        for _ in range(50):
            reader.feed(b"X-Pad: " + b"a" * 10 + b"\r\n")
    assert reader.buffered == 0


def test_interleaved_writer_refuses_oversized_packets():
    assert interleaved(3, b"x") == b"$\x03\x00\x01x"
    with pytest.raises(ValueError):
        interleaved(0, bytes(70000))


@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_fuzz_never_raises_anything_but_rtsp_errors(data, step):
    reader = MessageReader(max_header_bytes=512, max_body_bytes=512)
    with contextlib.suppress(RTSPError):
        _feed(reader, data, step)
    assert reader.buffered <= 512 + 512 + 4 + 65535


@given(
    st.lists(
        st.one_of(
            st.builds(Interleaved, st.integers(0, 255), st.binary(max_size=300)),
            st.builds(
                Request,
                st.sampled_from(["OPTIONS", "SETUP", "RECORD", "GET_PARAMETER"]),
                st.just("rtsp://h/a/b"),
                st.builds(Headers, st.just([("CSeq", "1")])),
                st.binary(max_size=100),
            ),
        ),
        max_size=8,
    ),
    st.integers(min_value=1, max_value=40),
)
def test_fuzz_round_trip_any_mix(messages, step):
    wire = b"".join(m.to_bytes() for m in messages)
    got = _feed(MessageReader(), wire, step)
    for m in messages:
        if isinstance(m, Request) and m.body:
            m.headers["Content-Length"] = str(len(m.body))
    assert got == messages
