"""The Key Material message (draft-sharabayko-srt §3.2.2), carried in KMREQ/KMRSP.

It announces the cipher, the salt and the stream encrypting key(s) wrapped with the key
encrypting key derived from the passphrase (see ``headwater_srt.wire.crypto``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from headwater import ProtocolError

_HEAD = struct.Struct("!BHBIBBBBHBB")
KM_SIGN = 0x2029
"""The 'HAI' PnP vendor id every KM message carries."""


class Cipher(IntEnum):
    """The KM Cipher field."""

    NONE = 0
    AES_ECB = 1
    AES_CTR = 2
    AES_CBC = 3
    AES_GCM = 4


class KmState(IntEnum):
    """The one-word KMRSP error contents (§3.2.1.2, "KM State")."""

    UNSECURED = 0
    SECURING = 1
    SECURED = 2
    NOSECRET = 3
    BADSECRET = 4
    BADCRYPTOMODE = 5


@dataclass(slots=True, frozen=True)
class KeyMaterial:
    """A parsed KM message: which keys it carries, cipher, salt, key length and the wrap."""

    keys: int  # KK: 1 even, 2 odd, 3 both
    cipher: int
    salt: bytes
    key_length: int
    wrap: bytes
    auth: int = 0
    stream_encapsulation: int = 2
    keki: int = 0

    @property
    def key_count(self) -> int:
        """How many stream keys the wrap holds (two when KK is 0b11)."""
        return 2 if self.keys == 3 else 1

    def encode(self) -> bytes:
        """Serialize the KM message."""
        head = _HEAD.pack(
            0x12,  # S=0, V=1, PT=2
            KM_SIGN,
            self.keys & 0b11,
            self.keki,
            self.cipher,
            self.auth,
            self.stream_encapsulation,
            0,
            0,
            len(self.salt) // 4,
            self.key_length // 4,
        )
        return head + self.salt + self.wrap

    @classmethod
    def parse(cls, data: bytes | memoryview) -> KeyMaterial:
        """Parse a KM message.

        :raises ProtocolError: when the header is malformed or the lengths do not add up.
        """
        if len(data) < _HEAD.size:
            raise ProtocolError(f"key material of {len(data)} bytes is too short")
        (vpt, sign, kk, keki, cipher, auth, se, _r2, _r3, slen, klen) = _HEAD.unpack_from(data)
        if vpt != 0x12 or sign != KM_SIGN:
            raise ProtocolError("key material has a bad version, type or signature")
        keys = kk & 0b11
        if keys == 0:
            raise ProtocolError("key material carries no key")
        salt_len, key_len = slen * 4, klen * 4
        if key_len not in (16, 24, 32):
            raise ProtocolError(f"key material announces a {key_len}-byte key")
        n = 2 if keys == 3 else 1
        wrap_len = n * key_len + 8
        start = _HEAD.size
        if len(data) < start + salt_len + wrap_len:
            raise ProtocolError("key material is shorter than its salt and wrapped keys")
        salt = bytes(data[start : start + salt_len])
        wrap = bytes(data[start + salt_len : start + salt_len + wrap_len])
        return cls(keys, cipher, salt, key_len, wrap, auth, se, keki)
