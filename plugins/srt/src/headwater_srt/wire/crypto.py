"""SRT payload encryption (draft-sharabayko-srt §6): PBKDF2 key derivation, RFC 3394 key
unwrap and AES-CTR with the packet sequence number in the counter.

- KEK = PBKDF2-HMAC-SHA1(passphrase, LSB(64, salt), 2048 iterations, key length) (§6.1.4)
- SEK(s) = AES key unwrap (RFC 3394) of the KM wrap with the KEK; a wrong passphrase fails
  the unwrap's integrity check, which is how "bad secret" is detected (§6.1.5)
- counter block = MSB(112, salt) XOR (sequence number in bytes 10..13), block counter in
  the last 16 bits (§6.1.2)

One CTR context per packet (the counter restarts at each packet's own IV) does the whole
payload in one call into OpenSSL: no per-block or per-byte Python loop. The context comes
straight from the binding ``Cipher.decryptor()`` uses, skipping its per-call argument
checks (two thirds of the cost at 1316 bytes); the algorithm and mode are checked once
here and tests compare it with the public API. cryptography is pinned; if its layout
changes, the public API is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from headwater import HandshakeRejected

from .keymaterial import Cipher as KmCipher
from .keymaterial import KeyMaterial
from .packet import KeySpec

PBKDF2_ITERATIONS = 2048
"""Iteration count of the KEK derivation (§6.1.4)."""
MIN_PASSPHRASE = 10
"""libsrt accepts passphrases of 10 to 79 characters."""
MAX_PASSPHRASE = 79


class BadSecret(HandshakeRejected):
    """The key material cannot be unwrapped with this passphrase."""


def pbkdf2_sha1(secret: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """PBKDF2 with HMAC-SHA1 (RFC 8018 §5.2)."""
    kdf = PBKDF2HMAC(algorithm=hashes.SHA1(), length=length, salt=salt, iterations=iterations)
    return kdf.derive(secret)


def derive_kek(passphrase: str | bytes, salt: bytes, key_length: int) -> bytes:
    """Derive the key encrypting key from the passphrase and the KM salt (§6.1.4)."""
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    return pbkdf2_sha1(secret, salt[-8:], PBKDF2_ITERATIONS, key_length)


def unwrap_keys(km: KeyMaterial, passphrase: str | bytes) -> dict[int, bytes]:
    """Unwrap the stream key(s) of ``km``; returns ``{KeySpec.EVEN: key, KeySpec.ODD: key}``
    (only the keys present).

    :raises BadSecret: when the wrap does not open with this passphrase.
    """
    kek = derive_kek(passphrase, km.salt, km.key_length)
    try:
        plain = aes_key_unwrap(kek, km.wrap)
    except (InvalidUnwrap, ValueError) as exc:
        raise BadSecret("the passphrase does not unwrap the stream key") from exc
    n = km.key_length
    if km.keys == 3:
        return {KeySpec.EVEN: plain[:n], KeySpec.ODD: plain[n : 2 * n]}
    return {km.keys: plain[:n]}


def make_key_material(
    passphrase: str, key_length: int = 16, keys: int = 1, salt: bytes | None = None
) -> tuple[KeyMaterial, dict[int, bytes]]:
    """Build a KM message with fresh random key(s), as a caller would (used by tests and
    the benchmark's own sender)."""
    salt = salt or os.urandom(16)
    n = 2 if keys == 3 else 1
    seks = [os.urandom(key_length) for _ in range(n)]
    kek = derive_kek(passphrase, salt, key_length)
    wrap = aes_key_wrap(kek, b"".join(seks))
    km = KeyMaterial(keys, KmCipher.AES_CTR, salt, key_length, wrap)
    found = {KeySpec.EVEN: seks[0], KeySpec.ODD: seks[1]} if keys == 3 else {keys: seks[0]}
    return km, found


def _public_ctr_context(algorithm: algorithms.AES, mode: modes.CTR) -> Any:
    return Cipher(algorithm, mode).decryptor()


try:  # what Cipher(...).decryptor() calls once its (per-packet costly) checks have passed
    from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

    _ctr_context: Callable[[algorithms.AES, modes.CTR], Any] = (
        _rust_openssl.ciphers.create_decryption_ctx
    )
except (ImportError, AttributeError):  # another cryptography layout: the public API
    _ctr_context = _public_ctr_context


class PayloadCipher:
    """AES-CTR for SRT payloads under one stream key and salt (encrypt = decrypt)."""

    __slots__ = ("_algorithm", "_nonce")

    def __init__(self, key: bytes, salt: bytes) -> None:
        self._algorithm = algorithms.AES(key)
        self._nonce = int.from_bytes(salt[:14], "big") << 16

    def apply(self, seq: int, payload: bytes | memoryview) -> bytes:
        """Encrypt or decrypt ``payload`` of the data packet with sequence number ``seq``."""
        iv = (self._nonce ^ (seq << 16)).to_bytes(16, "big")
        return _ctr_context(self._algorithm, modes.CTR(iv)).update(payload)


class StreamDecryptor:
    """The receiving side's keys: even and odd stream keys of one salt, replaced on
    re-keying (a KMREQ during the stream, §6.1.6)."""

    __slots__ = ("_ciphers", "key_length", "passphrase")

    def __init__(self, passphrase: str, km: KeyMaterial) -> None:
        self.passphrase = passphrase
        self.key_length = km.key_length
        self._ciphers: dict[int, PayloadCipher] = {}
        self.update(km)

    def update(self, km: KeyMaterial) -> None:
        """Install the key(s) of a KM message.

        :raises BadSecret: when the passphrase does not unwrap them.
        """
        for spec, key in unwrap_keys(km, self.passphrase).items():
            self._ciphers[spec] = PayloadCipher(key, km.salt)

    def decrypt(self, key: int, seq: int, payload: bytes | memoryview) -> bytes | None:
        """Decrypt a payload encrypted with key ``key`` (KK field); None for an unknown key."""
        cipher = self._ciphers.get(key)
        if cipher is None:
            return None
        return cipher.apply(seq, payload)
