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

Many packets at once (:meth:`PayloadCipher.apply_many`) skip even that: CTR is AES of the
counter blocks XORed onto the data, so the counter blocks of every packet of a batch are
laid out with numpy (the salt's nonce, the sequence number, the block index), encrypted
by one long-lived AES-ECB context in one call, and XORed onto the payloads in one numpy
operation. The connection decrypts what arrived between two timer ticks this way; tests
prove it equal to the per-packet context.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from headwater import HandshakeRejected

from .keymaterial import Cipher as KmCipher
from .keymaterial import KeyMaterial
from .packet import HEADER_SIZE, KeySpec

PBKDF2_ITERATIONS = 2048
"""Iteration count of the KEK derivation (§6.1.4)."""
MIN_PASSPHRASE = 10
"""libsrt accepts passphrases of 10 to 79 characters."""
MAX_PASSPHRASE = 79
BATCH_MIN = 4
"""Packets of one size from which :meth:`PayloadCipher.apply_many` lays out counters with
numpy; fewer go one by one."""
KEPT_ROWS = 64
"""Most packets whose counter blocks and key stream a cipher keeps arrays for between
batches (64 full packets: 170 KB); bigger batches make their own."""


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

    __slots__ = ("_algorithm", "_ecb", "_layout", "_nonce", "_nonce_hi", "_nonce_lo")

    def __init__(self, key: bytes, salt: bytes) -> None:
        self._algorithm = algorithms.AES(key)
        self._nonce = int.from_bytes(salt[:14], "big") << 16
        self._nonce_hi = self._nonce >> 64
        self._nonce_lo = self._nonce & 0xFFFF_FFFF_FFFF_FFFF
        self._ecb = Cipher(self._algorithm, modes.ECB()).encryptor()
        self._layout: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def apply(self, seq: int, payload: bytes | memoryview) -> bytes:
        """Encrypt or decrypt ``payload`` of the data packet with sequence number ``seq``."""
        iv = (self._nonce ^ (seq << 16)).to_bytes(16, "big")
        return _ctr_context(self._algorithm, modes.CTR(iv)).update(payload)

    def apply_many(
        self, seqs: list[int], payloads: list[bytes | memoryview]
    ) -> list[bytes | memoryview]:
        """:meth:`apply` to every ``(seqs[i], payloads[i])``, batched.

        Payloads of the most common size go through one ECB call and one XOR (counter
        block j of packet s is ``nonce ^ s << 16`` plus j: the sequence number sits in
        bits 16..46, the block index below, so no carry crosses them); others, and
        batches too small to pay, go one by one.
        """
        if len(payloads) < BATCH_MIN:
            return [self.apply(s, p) for s, p in zip(seqs, payloads, strict=True)]
        sizes = list(map(len, payloads))
        size = sizes[0]
        out: list[bytes | memoryview] = []
        odd: list[int] = []
        if sizes.count(size) != len(sizes):
            size = max(set(sizes), key=sizes.count)
            odd = [i for i, n in enumerate(sizes) if n != size]
            keep = [i for i, n in enumerate(sizes) if n == size]
            batch = self.apply_many([seqs[i] for i in keep], [payloads[i] for i in keep])
            out = [b""] * len(payloads)
            for i, plain in zip(keep, batch, strict=True):
                out[i] = plain
            for i in odd:
                out[i] = self.apply(seqs[i], payloads[i])
            return out
        if size == 0:
            return [b""] * len(payloads)
        k = len(payloads)
        blocks = (size + 15) >> 4
        low = np.uint64(self._nonce_lo) ^ (np.array(seqs, dtype=np.uint64) << np.uint64(16))
        counters = np.empty((k, blocks, 2), dtype=">u8")
        counters[:, :, 0] = self._nonce_hi
        counters[:, :, 1] = low[:, None] + np.arange(blocks, dtype=np.uint64)
        stream = np.frombuffer(self._ecb.update(counters.tobytes()), np.uint8)
        data = np.frombuffer(b"".join(payloads), np.uint8).reshape(k, size)
        plain = memoryview((data ^ stream.reshape(k, blocks * 16)[:, :size]).tobytes())
        return [plain[i * size : (i + 1) * size] for i in range(k)]

    def open_joined(self, joined: bytes, count: int, size: int) -> bytes:
        """Decrypt the payloads of ``count`` whole data packets of ``size`` bytes each,
        header included, laid end to end in ``joined``; return the payloads joined.

        Counter block j of the packet with sequence number s is the salt's nonce with s
        XORed into bytes 10..13 and j in bytes 14..15 (§6.1.2). As bytes, that is the
        nonce-and-block-index block of j XORed with s's four header bytes at offset 10;
        XOR does not care about byte order, so both are kept as native 64-bit words whose
        memory holds the big-endian bytes, and the low words of the whole batch are one
        ``bitwise_xor`` of a column (the header words, read through one strided view of
        ``joined``) with a row (the cipher's per-block words, made once) into a counter
        array kept across batches. One ECB call over that array, one XOR onto the
        payloads; no per-batch byte swapping, shifting or copying of counters.
        """
        payload = size - HEADER_SIZE
        if payload <= 0:
            return b""
        blocks = (payload + 15) >> 4
        layout, low, out = self._counters(count, blocks)
        # each header's first four bytes (the sequence number) read as a native word and
        # moved to bytes 2..5 of a native 64-bit word: bytes 10..13 of the counter block
        seqs = np.ndarray((count,), np.uint32, joined, 0, (size,)).astype(np.uint64)
        np.bitwise_xor(np.left_shift(seqs, _SEQ_SHIFT, out=seqs)[:, None],
                       low, out=layout[:, :, 1])  # fmt: skip
        self._ecb.update_into(layout.view(np.uint8), out.data)
        stream = out[: count * blocks * 16].reshape(count, -1)[:, :payload]
        rows = np.frombuffer(joined, np.uint8).reshape(count, size)
        np.bitwise_xor(rows[:, HEADER_SIZE:], stream, out=stream)
        return stream.tobytes()

    def _counters(self, count: int, blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A counter-block array for ``count`` packets of ``blocks`` blocks as native
        64-bit words (high word: the nonce's first eight bytes, filled in once), the row
        of low words before the sequence numbers go in (the nonce's last eight bytes with
        the block index in the last two), and a buffer for the key stream.

        The arrays are kept for the next batches of the same packet size (grown when a
        batch has more packets; small streams hand over batches of varying counts) up to
        :data:`KEPT_ROWS` packets: a bigger batch (a stream catching up after a stall)
        gets arrays of its own, so that one burst does not hold memory for the rest of
        the connection."""
        cached = self._layout
        if cached is not None and cached[0].shape[1] == blocks and cached[0].shape[0] >= count:
            return cached[0][:count], cached[1], cached[2]
        grow = cached is not None and cached[0].shape[1] == blocks
        rows = max(count, min(2 * cached[0].shape[0], KEPT_ROWS) if grow else 0, 8)
        counters = np.empty((rows, blocks, 2), dtype=np.uint64)
        counters[:, :, 0] = np.array([self._nonce_hi], ">u8").view(np.uint64)[0]
        index = np.uint64(self._nonce_lo) ^ np.arange(blocks, dtype=np.uint64)
        low = index.astype(">u8").view(np.uint64)
        out = np.empty(counters.nbytes + 16, np.uint8)  # update_into wants a block to spare
        if rows <= KEPT_ROWS:
            self._layout = (counters, low, out)
        return counters[:count], low, out


_SEQ_SHIFT = np.uint64(16)
"""How far a header's first word, read as a native 32-bit word and widened, moves to land
on bytes 2..5 of a native 64-bit word (bytes 10..13 of the counter block): on a
little-endian machine its bytes b0..b3 read as b0 + b1<<8 + ..., shifted by 16 they sit
at memory offsets 2..5; on a big-endian one b0 lands on bits 40..47, offset 2 as well.
(The word's top bit, the packet type flag, is 0 in every data packet: no mask needed.)"""


_KK = bytes((b >> 3) & 0b11 for b in range(256))
"""Translation table: the second header word's first byte → its KK field."""


def _key_of(datagram: bytes) -> int:
    return (datagram[4] >> 3) & 0b11


def open_datagrams(datagrams: list[bytes], decryptor: StreamDecryptor | None) -> bytes:
    """The payloads of the data packets ``datagrams`` (whole, header included, in order),
    decrypted under the key each names (KK) and joined.

    A batch under one key is decrypted together (:meth:`PayloadCipher.open_joined`):
    packets shorter than the longest (ffmpeg ends every frame with a short packet) are
    padded to its length for the batch, and their padding cut from the result (the key
    stream of a packet does not depend on its length). Small batches, and a batch that
    spans a change of keys, go packet by packet. Plain packets (KK 0) are copied as they
    are.
    """
    count = len(datagrams)
    if not count:
        return b""
    if count >= BATCH_MIN:
        lens = list(map(len, datagrams))
        size = max(lens)
        short = lens.count(size) != count
        if short:
            joined = b"".join([d.ljust(size, b"\0") for d in datagrams])
        else:
            joined = b"".join(datagrams)
        keys = joined[4::size].translate(_KK)  # each packet's KK field, as one byte
        first = keys[0]
        if keys.count(first) == count and (decryptor is not None or not first):
            if first:
                assert decryptor is not None
                plain = decryptor.cipher(first).open_joined(joined, count, size)
            else:
                rows = np.frombuffer(joined, np.uint8).reshape(count, size)
                plain = rows[:, HEADER_SIZE:].tobytes()
            if not short:
                return plain
            return _cut_padding(plain, lens, size - HEADER_SIZE)
    parts: list[bytes | memoryview] = []
    for d in datagrams:
        key = _key_of(d)
        payload = memoryview(d)[HEADER_SIZE:]
        if key and decryptor is not None:
            seq = int.from_bytes(d[:4], "big") & 0x7FFF_FFFF
            parts.append(decryptor.cipher(key).apply(seq, payload))
        else:
            parts.append(payload)
    return b"".join(parts)


def _cut_padding(plain: bytes, lens: list[int], row: int) -> bytes:
    """Join ``plain`` (payload rows of ``row`` bytes) without the padding of the rows
    whose datagram was shorter than the longest."""
    view = memoryview(plain)
    pieces = []
    start = 0
    full = row + HEADER_SIZE
    for i, n in enumerate(lens):
        if n != full:
            end = i * row + max(n - HEADER_SIZE, 0)
            pieces.append(view[start:end])
            start = (i + 1) * row
    pieces.append(view[start:])
    return b"".join(pieces)


def open_datagram(datagram: bytes, decryptor: StreamDecryptor) -> bytes:
    """``datagram`` with its payload decrypted and its KK field cleared (a plain packet),
    so that a later change of keys cannot touch it."""
    key = _key_of(datagram)
    if not key:
        return datagram
    seq = int.from_bytes(datagram[:4], "big") & 0x7FFF_FFFF
    plain = decryptor.cipher(key).apply(seq, memoryview(datagram)[HEADER_SIZE:])
    return datagram[:4] + bytes([datagram[4] & 0xE7]) + datagram[5:HEADER_SIZE] + plain


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

    def keys(self) -> frozenset[int]:
        """The key specs (KK values) that can be decrypted now."""
        return frozenset(self._ciphers)

    def cipher(self, key: int) -> PayloadCipher:
        """The cipher of key ``key`` (KK field); KeyError when it is not there."""
        return self._ciphers[key]

    def has_key(self, key: int) -> bool:
        """Whether a payload with key ``key`` (KK field) can be decrypted now."""
        return key in self._ciphers

    def decrypt_many(
        self, key: int, seqs: list[int], payloads: list[bytes | memoryview]
    ) -> list[bytes | memoryview]:
        """:meth:`decrypt` of many payloads under one key, batched (the key must be there:
        :meth:`has_key`)."""
        return self._ciphers[key].apply_many(seqs, payloads)
