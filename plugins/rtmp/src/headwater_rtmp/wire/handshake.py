"""The RTMP handshake (Adobe RTMP 1.0 section 5.2), plain and digest ("complex").

The plain handshake is C0/C1/C2 ↔ S0/S1/S2 with S2 echoing C1. Flash-era and librtmp-based
clients (OBS before 30, rtmpdump) send a C1 whose bytes 4..7 are a non-zero version and
which carries an HMAC-SHA256 digest keyed with "Genuine Adobe Flash Player 001" at a
position given by one of two schemes; such clients check that S1 carries a digest keyed
with "Genuine Adobe Flash Media Server 001" and that S2 ends with a digest keyed by C1's.
:class:`ServerHandshake` answers each client in its own style; :class:`ClientHandshake`
is the push side. Sans-I/O: bytes in, bytes out, no sockets.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable

from headwater import ProtocolError

VERSION = 3
SIZE = 1536
DIGEST = 32

_KEY_TAIL = bytes.fromhex("f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae")
FMS_KEY = b"Genuine Adobe Flash Media Server 001" + _KEY_TAIL
"""68 bytes; the first 36 sign S1, all 68 derive the S2 key."""
FP_KEY = b"Genuine Adobe Flash Player 001" + _KEY_TAIL
"""62 bytes; the first 30 sign C1, all 62 derive the C2 key."""

SERVER_VERSION = b"\x04\x05\x00\x01"
CLIENT_VERSION = b"\x09\x00\x7c\x02"


class HandshakeError(ProtocolError):
    """The peer's handshake is not RTMP (wrong version byte, encryption requested...)."""


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def digest_offset(block: bytes, scheme: int) -> int:
    """Where the 32-byte digest sits in a C1/S1 under scheme 0 (digest first) or 1 (key first)."""
    base = 8 if scheme == 0 else 772
    return sum(block[base : base + 4]) % 728 + base + 4


def find_digest(block: bytes, key: bytes) -> bytes | None:
    """The digest of ``block`` if it validates under either scheme with ``key``, else None."""
    for scheme in (0, 1):
        off = digest_offset(block, scheme)
        expected = _hmac(key, block[:off] + block[off + DIGEST :])
        if hmac.compare_digest(expected, block[off : off + DIGEST]):
            return expected
    return None


def imprint_digest(block: bytearray, key: bytes, scheme: int = 0) -> bytes:
    """Write the digest of ``block`` into it (in place) and return it."""
    off = digest_offset(block, scheme)
    digest = _hmac(key, bytes(block[:off] + block[off + DIGEST :]))
    block[off : off + DIGEST] = digest
    return digest


def signed_response(peer_digest: bytes, key: bytes, random: bytes) -> bytes:
    """S2 (or C2) of the digest handshake: 1504 random bytes and their keyed digest."""
    body = random[: SIZE - DIGEST]
    return body + _hmac(_hmac(key, peer_digest), body)


class ServerHandshake:
    """Server side: feed bytes with :meth:`receive_data`; it returns the bytes to send.

    After C2, :attr:`done` is True and :attr:`rest` holds any bytes that followed it
    (the start of the chunk stream). :attr:`complex` says whether the client used digests.
    """

    def __init__(self, random: Callable[[int], bytes] = os.urandom, epoch: int = 0) -> None:
        self._buf = bytearray()
        self._random = random
        self._epoch = epoch
        self._sent = False
        self.done = False
        self.complex = False
        self.rest = b""

    def receive_data(self, data: bytes) -> bytes:
        """Consume handshake bytes; return S0+S1+S2 once C0+C1 are in, else b""."""
        if self.done:
            raise RuntimeError("handshake already complete")
        self._buf += data
        out = b""
        if not self._sent:
            if self._buf and self._buf[0] != VERSION:
                v = self._buf[0]
                what = "RTMPE/RTMPTE (encrypted)" if v in (6, 8, 9) else f"version {v}"
                raise HandshakeError(f"unsupported RTMP handshake: {what}")
            if len(self._buf) < 1 + SIZE:
                return b""
            c1 = bytes(self._buf[1 : 1 + SIZE])
            del self._buf[: 1 + SIZE]
            out = bytes((VERSION,)) + self._answer(c1)
            self._sent = True
        if len(self._buf) >= SIZE:
            self.rest = bytes(self._buf[SIZE:])
            self._buf.clear()
            self.done = True
        return out

    def _answer(self, c1: bytes) -> bytes:
        s1 = bytearray(self._epoch.to_bytes(4, "big") + b"\0\0\0\0" + self._random(SIZE - 8))
        client_digest = find_digest(c1, FP_KEY[:30]) if c1[4:8] != b"\0\0\0\0" else None
        if client_digest is None:
            return bytes(s1) + c1  # plain: S2 echoes C1
        self.complex = True
        s1[4:8] = SERVER_VERSION
        imprint_digest(s1, FMS_KEY[:36], 0)
        return bytes(s1) + signed_response(client_digest, FMS_KEY, self._random(SIZE))


class ClientHandshake:
    """Client side (push): :meth:`start` gives C0+C1 (digest style, like Flash Player);
    :meth:`receive_data` returns C2 once S0+S1+S2 are in. Then :attr:`done` and :attr:`rest`."""

    def __init__(self, random: Callable[[int], bytes] = os.urandom) -> None:
        self._buf = bytearray()
        self._random = random
        self.done = False
        self.rest = b""

    def start(self) -> bytes:
        """C0 and C1."""
        c1 = bytearray(b"\0\0\0\0" + CLIENT_VERSION + self._random(SIZE - 8))
        imprint_digest(c1, FP_KEY[:30], 0)
        return bytes((VERSION,)) + bytes(c1)

    def receive_data(self, data: bytes) -> bytes:
        """Consume S0/S1/S2; return C2 when they are complete, else b""."""
        if self.done:
            raise RuntimeError("handshake already complete")
        self._buf += data
        if self._buf and self._buf[0] != VERSION:
            raise HandshakeError(f"server answered RTMP handshake version {self._buf[0]}")
        if len(self._buf) < 1 + 2 * SIZE:
            return b""
        s1 = bytes(self._buf[1 : 1 + SIZE])
        self.rest = bytes(self._buf[1 + 2 * SIZE :])
        self._buf.clear()
        self.done = True
        server_digest = find_digest(s1, FMS_KEY[:36]) if s1[4:8] != b"\0\0\0\0" else None
        if server_digest is None:
            return s1
        return signed_response(server_digest, FP_KEY, self._random(SIZE))
