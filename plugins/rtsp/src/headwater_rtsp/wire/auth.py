"""RTSP authentication, server side (RFC 2326 section 16.9 refers to HTTP's: RFC 7617 Basic
and RFC 2617 Digest with MD5, the variant RTSP cameras and ffmpeg speak).

:func:`challenge` writes the ``WWW-Authenticate`` value of a 401; :func:`check` verifies an
``Authorization`` header against the expected password, for the method and URL of the
request (Digest hashes both). Nonces are HMACs of a timestamp under a per-server secret, so
the server keeps no state per challenge and a stale nonce is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field

REALM = "headwater"
NONCE_LIFETIME = 300.0
"""Seconds a Digest nonce stays valid."""


@dataclass(slots=True, frozen=True)
class Credentials:
    """What a client presented: user, password (Basic) or a Digest response."""

    scheme: str
    user: str
    password: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_authorization(header: str) -> Credentials | None:
    """Parse an ``Authorization`` header; None when it is neither Basic nor Digest."""
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        user, colon, password = decoded.partition(":")
        if not colon:
            return None
        return Credentials("basic", user, password)
    if scheme == "digest":
        params = _digest_params(rest)
        if "username" not in params or "response" not in params:
            return None
        return Credentials("digest", params["username"], params=params)
    return None


def _digest_params(text: str) -> dict[str, str]:
    """``key=value, key="quoted, value"`` pairs (keys lower-cased)."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\t":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                end = n
            value = text[i + 1 : end]
            i = end + 1
        else:
            end = text.find(",", i)
            if end < 0:
                end = n
            value = text[i:end].strip()
            i = end
        params[key] = value
    return params


class Authenticator:
    """Challenges and checks for one server (the nonce secret lives here)."""

    def __init__(self, digest: bool = False, secret: bytes | None = None) -> None:
        self.digest = digest
        self._secret = secret or os.urandom(16)

    def nonce(self, now: float | None = None) -> str:
        """A fresh nonce: a timestamp and its HMAC."""
        stamp = f"{int(time.time() if now is None else now):x}"
        mac = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:16]
        return f"{stamp}{mac}"

    def _nonce_valid(self, nonce: str, now: float | None = None) -> bool:
        if len(nonce) <= 16:
            return False
        stamp, mac = nonce[:-16], nonce[-16:]
        good = hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:16]
        if not hmac.compare_digest(mac, good):
            return False
        try:
            issued = int(stamp, 16)
        except ValueError:
            return False
        current = time.time() if now is None else now
        return 0 <= current - issued <= NONCE_LIFETIME

    def challenge(self, now: float | None = None) -> str:
        """The ``WWW-Authenticate`` value of a 401 (Digest when configured, else Basic)."""
        if self.digest:
            return f'Digest realm="{REALM}", nonce="{self.nonce(now)}", algorithm="MD5"'
        return f'Basic realm="{REALM}"'

    def check(
        self,
        header: str | None,
        password: str,
        method: str,
        now: float | None = None,
    ) -> bool:
        """True when ``header`` proves knowledge of ``password`` (any user name).

        Digest is accepted only when configured; Basic always (it is what the challenge
        offers by default and what a client with ``user:pass@`` in the URL sends).
        """
        if not header:
            return False
        creds = parse_authorization(header)
        if creds is None:
            return False
        if creds.scheme == "basic":
            return hmac.compare_digest(creds.password.encode(), password.encode())
        if not self.digest:
            return False
        p = creds.params
        if p.get("realm") != REALM or not self._nonce_valid(p.get("nonce", ""), now):
            return False
        ha1 = _md5(f"{creds.user}:{REALM}:{password}")
        ha2 = _md5(f"{method}:{p.get('uri', '')}")
        if p.get("qop"):
            expected = _md5(
                f"{ha1}:{p['nonce']}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p['qop']}:{ha2}"
            )
        else:
            expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
        return hmac.compare_digest(expected, p["response"].lower())


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def digest_response(user: str, password: str, method: str, uri: str, realm: str, nonce: str) -> str:
    """The ``Authorization`` value a Digest client sends (for tests and a future client)."""
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    response = _md5(f"{ha1}:{nonce}:{ha2}")
    return (
        f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{response}"'
    )
