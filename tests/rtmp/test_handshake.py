"""Handshake (RTMP 1.0 5.2, plus the digest handshake of Flash-era clients): plain and complex,
byte by byte, verified with an independent HMAC computation as librtmp does it."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from headwater_rtmp.wire import handshake as hs


def _feed(side, data: bytes, step: int) -> bytes:
    out = b""
    for i in range(0, len(data), step):
        out += side.receive_data(data[i : i + step])
    return out


@pytest.mark.parametrize("step", [1, 100, 5000])
def test_plain_handshake_echoes_c1(step):
    c1 = b"\0\0\0\x05" + b"\0\0\0\0" + bytes(range(256)) * 6
    server = hs.ServerHandshake()
    answer = _feed(server, b"\x03" + c1[: hs.SIZE], step)
    assert len(answer) == 1 + 2 * hs.SIZE and answer[0] == 3
    assert answer[1 + hs.SIZE :] == c1[: hs.SIZE]  # S2 echoes C1
    assert not server.complex and not server.done
    c2 = answer[1 : 1 + hs.SIZE]
    assert _feed(server, c2[:-1], step) == b""
    assert server.receive_data(c2[-1:] + b"\x02rest") == b""
    assert server.done and server.rest == b"\x02rest"


def test_complex_handshake_as_librtmp_checks_it():
    client = hs.ClientHandshake()
    c0c1 = client.start()
    server = hs.ServerHandshake()
    s = server.receive_data(c0c1)
    assert server.complex
    s1, s2 = s[1 : 1 + hs.SIZE], s[1 + hs.SIZE :]
    # S1 carries a digest keyed with the first 36 bytes of the FMS key (scheme 0 here)
    off = hs.digest_offset(s1, 0)
    mac = hmac.new(hs.FMS_KEY[:36], s1[:off] + s1[off + 32 :], hashlib.sha256).digest()
    assert s1[off : off + 32] == mac
    # S2's last 32 bytes: HMAC(HMAC(FMS_KEY, C1 digest), S2[:1504])
    c1 = c0c1[1:]
    c_off = hs.digest_offset(c1, 0)
    c_digest = c1[c_off : c_off + 32]
    key = hmac.new(hs.FMS_KEY, c_digest, hashlib.sha256).digest()
    assert s2[-32:] == hmac.new(key, s2[:-32], hashlib.sha256).digest()
    # the client accepts it and answers a signed C2; the server takes any C2
    c2 = client.receive_data(s + b"more")
    assert client.done and client.rest == b"more" and len(c2) == hs.SIZE
    assert server.receive_data(c2) == b"" and server.done


def test_digest_in_scheme_1_is_found():
    c1 = bytearray(b"\0\0\0\0" + hs.CLIENT_VERSION + bytes(hs.SIZE - 8))
    hs.imprint_digest(c1, hs.FP_KEY[:30], scheme=1)
    server = hs.ServerHandshake()
    server.receive_data(b"\x03" + bytes(c1))
    assert server.complex


def test_client_against_plain_server_echoes_s1():
    client = hs.ClientHandshake()
    client.start()
    s1 = bytes(hs.SIZE)
    assert client.receive_data(b"\x03" + s1 + bytes(hs.SIZE)) == s1


def test_refusals():
    with pytest.raises(hs.HandshakeError, match="encrypted"):
        hs.ServerHandshake().receive_data(b"\x06")
    with pytest.raises(hs.HandshakeError, match="version 71"):
        hs.ServerHandshake().receive_data(b"GET / HTTP/1.1\r\n")
    with pytest.raises(hs.HandshakeError):
        hs.ClientHandshake().receive_data(b"\x05")
