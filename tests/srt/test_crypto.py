"""Encryption (draft-sharabayko-srt §6) against published known-answer vectors:
RFC 3394 key wrap, RFC 6070 PBKDF2-HMAC-SHA1, NIST SP 800-38A AES-CTR."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from headwater_srt.wire.crypto import (
    BadSecret,
    PayloadCipher,
    StreamDecryptor,
    derive_kek,
    make_key_material,
    pbkdf2_sha1,
    unwrap_keys,
)
from headwater_srt.wire.keymaterial import KeyMaterial
from headwater_srt.wire.packet import KeySpec

KEK_256 = bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")

RFC3394 = [
    # §4.1 128-bit KEK, 128-bit key; §4.3 192-bit KEK, 128-bit key; §4.6 256/256
    (
        KEK_256[:16],
        "00112233445566778899AABBCCDDEEFF",
        "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5",
    ),
    (
        KEK_256[:24],
        "00112233445566778899AABBCCDDEEFF",
        "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D",
    ),
    (
        KEK_256,
        "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
        "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
    ),
]


@pytest.mark.parametrize(("kek", "key", "wrapped"), RFC3394)
def test_rfc3394_unwrap_vectors(
    kek: bytes, key: str, wrapped: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    klen = len(bytes.fromhex(key))
    km = KeyMaterial(1, 2, b"\0" * 16, klen, bytes.fromhex(wrapped))
    # unwrap_keys derives the KEK from a passphrase; feed it the vector's KEK instead
    monkeypatch.setattr("headwater_srt.wire.crypto.derive_kek", lambda *_: kek)
    assert unwrap_keys(km, "ignored-passphrase") == {KeySpec.EVEN: bytes.fromhex(key)}


@pytest.mark.parametrize(
    ("iterations", "expected"),
    [
        (1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"),
        (2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"),
        (4096, "4b007901b765489abead49d926f721d065a429c1"),
    ],
)
def test_pbkdf2_rfc6070_vectors(iterations: int, expected: str) -> None:
    assert pbkdf2_sha1(b"password", b"salt", iterations, 20).hex() == expected


def test_kek_uses_the_low_64_bits_of_the_salt_and_2048_iterations() -> None:
    salt = bytes(range(16))
    got = derive_kek("my passphrase", salt, 24)
    assert got == hashlib.pbkdf2_hmac("sha1", b"my passphrase", salt[8:], 2048, 24)


def test_ctr_counter_layout_against_nist_sp800_38a() -> None:
    # F.5.1 CTR-AES128.Encrypt, first block, with our counter derived from salt and seq:
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    plain = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
    counter = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    # our counter: MSB(112, salt) XOR seq in bytes 10..13, block counter from 0 in 14..15
    salt = counter[:14] + b"\0\0"
    seq = 0x0A0B0C0D
    iv = bytearray(salt[:14] + b"\0\0")
    for i, b in enumerate(seq.to_bytes(4, "big")):
        iv[10 + i] ^= b
    ref = Cipher(algorithms.AES(key), modes.CTR(bytes(iv))).encryptor().update(plain * 3)
    assert PayloadCipher(key, salt).apply(seq, plain * 3) == ref
    # and the NIST vector itself with the NIST counter, so the AES primitive is right too
    nist = Cipher(algorithms.AES(key), modes.CTR(counter)).encryptor().update(plain)
    assert nist.hex() == "874d6191b620e3261bef6864990db6ce"


@pytest.mark.parametrize("key_length", [16, 24, 32])
def test_key_material_round_trip_and_payload(key_length: int) -> None:
    km, keys = make_key_material("correct horse battery", key_length)
    parsed = KeyMaterial.parse(km.encode())
    assert parsed == km
    dec = StreamDecryptor("correct horse battery", parsed)
    payload = bytes(range(256)) * 5 + b"tail"
    enc = PayloadCipher(keys[KeySpec.EVEN], km.salt).apply(77, payload)
    assert enc != payload
    assert dec.decrypt(KeySpec.EVEN, 77, enc) == payload
    assert dec.decrypt(KeySpec.ODD, 77, enc) is None  # no odd key announced


def test_wrong_passphrase_is_bad_secret() -> None:
    km, _ = make_key_material("the right passphrase", 16)
    with pytest.raises(BadSecret):
        StreamDecryptor("a wrong passphrase", km)


def test_both_keys_and_rekeying() -> None:
    km, keys = make_key_material("rekeying passphrase", 16, keys=3)
    dec = StreamDecryptor("rekeying passphrase", km)
    for spec in (KeySpec.EVEN, KeySpec.ODD):
        enc = PayloadCipher(keys[spec], km.salt).apply(5, b"hello world")
        assert dec.decrypt(spec, 5, enc) == b"hello world"
    km2, keys2 = make_key_material("rekeying passphrase", 16, salt=km.salt)
    dec.update(km2)
    enc = PayloadCipher(keys2[KeySpec.EVEN], km.salt).apply(6, b"new key")
    assert dec.decrypt(KeySpec.EVEN, 6, enc) == b"new key"


def test_fast_ctr_context_equals_the_public_api() -> None:
    import os

    import headwater_srt.wire.crypto as crypto

    key, salt = os.urandom(32), os.urandom(16)
    fast = PayloadCipher(key, salt)
    for seq in (0, 1, 0x7FFF_FFFF):
        payload = os.urandom(1316)
        iv = ((int.from_bytes(salt[:14], "big") << 16) ^ (seq << 16)).to_bytes(16, "big")
        public = crypto._public_ctr_context(algorithms.AES(key), modes.CTR(iv)).update(payload)
        assert fast.apply(seq, payload) == public
