"""Batched AES-CTR (``PayloadCipher.apply_many``) equals the per-packet context, and the
connection's batched decryption delivers what per-packet decryption would, re-keying
included."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater_srt.wire.crypto import BATCH_MIN, PayloadCipher
from headwater_srt.wire.endpoint import Endpoint
from headwater_srt.wire.handshake import ExtensionType
from headwater_srt.wire.packet import ControlPacket, ControlType

from .fake_caller import FakeCaller
from .test_endpoint import PEER, accept

SEQ_MAX = 0x7FFF_FFFF

CASES = [  # (key length, sizes, first sequence number)
    (16, [1316] * 40, 1000),
    (24, [1316] * 40, SEQ_MAX - 20),  # sequence numbers wrap inside the batch
    (32, [1316] * 40, 0),
    (16, [1456] * 7, 123_456),  # a full MTU payload (91 blocks)
    (16, [16] * 9 + [1316], 5),  # whole blocks; one odd size
    (16, [17, 1316, 1316, 1316, 1316, 1, 1316, 15, 1316], 77),
    (16, [0] * 5, 9),
    (16, [1316] * (BATCH_MIN - 1), 31),  # below the batch size: one by one
    (16, [188 * 7] * 200, 4242),
]


@pytest.mark.parametrize(("key_length", "sizes", "first"), CASES)
def test_apply_many_equals_apply(key_length: int, sizes: list[int], first: int) -> None:
    rng = random.Random(first)
    cipher = PayloadCipher(os.urandom(key_length), os.urandom(16))
    seqs = [(first + i) & SEQ_MAX for i in range(len(sizes))]
    payloads = [rng.randbytes(n) for n in sizes]
    expected = [cipher.apply(s, p) for s, p in zip(seqs, payloads, strict=True)]
    got = cipher.apply_many(seqs, payloads)
    assert [bytes(g) for g in got] == expected
    assert [bytes(g) for g in cipher.apply_many(seqs, expected)] == payloads  # and back


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, SEQ_MAX), st.binary(max_size=1500)), max_size=60),
    st.sampled_from([16, 24, 32]),
)
def test_apply_many_any_batch(items: list[tuple[int, bytes]], key_length: int) -> None:
    cipher = PayloadCipher(bytes(range(key_length)), bytes(range(100, 116)))
    seqs = [s for s, _ in items]
    payloads = [p for _, p in items]
    got = cipher.apply_many(seqs, [memoryview(p) for p in payloads])
    assert [bytes(g) for g in got] == [cipher.apply(s, p) for s, p in items]


def _kmreq(km, socket_id: int) -> bytes:
    return ControlPacket(
        ControlType.USER, 0, socket_id, subtype=ExtensionType.KMREQ, cif=km.encode()
    ).encode()


def test_rekeying_between_arrival_and_tick_uses_the_key_of_arrival() -> None:
    """Packets under the old key wait in the buffer when a KMREQ replaces that key: they
    are decrypted with the old one, the later packets with the new one."""
    ep = Endpoint()
    caller = FakeCaller(passphrase="rekey passphrase")
    conn, hs = accept(ep, caller, "rekey passphrase")
    caller.peer_socket = hs.socket_id
    old = [bytes([i]) * 1316 for i in range(10)]
    for i, p in enumerate(old):
        ep.datagram_received(caller.data(caller.isn + i, p, i), PEER, 20 + i)
    new = FakeCaller(passphrase="rekey passphrase")
    new.peer_socket = hs.socket_id
    ep.datagram_received(_kmreq(new.km, hs.socket_id), PEER, 40)
    fresh = [bytes([100 + i]) * 1316 for i in range(10)]
    for i, p in enumerate(fresh):
        ep.datagram_received(new.data(caller.isn + 10 + i, p, 10 + i), PEER, 50 + i)
    conn.receiver.latency = 0
    ep.tick(1000)
    assert conn.take_payload() == b"".join(old + fresh)
    assert conn.undecryptable == 0


def test_unknown_key_is_counted_and_never_buffered() -> None:
    """A packet under a key (odd) the caller never announced is dropped and counted."""
    ep = Endpoint()
    caller = FakeCaller(passphrase="a good passphrase")
    conn, hs = accept(ep, caller, "a good passphrase")
    caller.peer_socket = hs.socket_id
    good = caller.data(caller.isn, b"x" * 1316, 0)
    odd = bytearray(caller.data(caller.isn + 1, b"y" * 1316, 1))
    odd[4] = (odd[4] & 0xE7) | 0x10  # KK = 2 (odd key)
    ep.datagram_received(good, PEER, 20)
    ep.datagram_received(bytes(odd), PEER, 21)
    conn.receiver.latency = 0
    ep.tick(1000)
    assert conn.undecryptable == 1
    assert conn.take_payload() == b"x" * 1316


def _datagram(cipher: PayloadCipher | None, seq: int, payload: bytes, key: int) -> bytes:
    body = cipher.apply(seq, payload) if (cipher is not None and key) else payload
    word2 = (0b11 << 30) | (key << 27) | 1
    return seq.to_bytes(4, "big") + word2.to_bytes(4, "big") + bytes(8) + body


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, SEQ_MAX),
            st.sampled_from([0, 1, 17, 1316, 1456]),
            st.sampled_from([0, 1, 2]),
        ),
        max_size=40,
    ),
    st.booleans(),
)
def test_open_datagrams_equals_per_packet_decryption(
    items: list[tuple[int, int, int]], uniform: bool
) -> None:
    """The batched opening of whole datagrams (one size and key, or mixed) gives the
    payloads per-packet decryption gives, joined; plain packets pass as they are."""
    from headwater_srt.wire.crypto import StreamDecryptor, make_key_material, open_datagrams

    km, _keys = make_key_material("batched passphrase", 16, keys=3)
    dec = StreamDecryptor("batched passphrase", km)
    if uniform:
        items = [(s, 1316, 1) for s, _n, _k in items]
    rng = random.Random(len(items))
    payloads = [rng.randbytes(n) for _s, n, _k in items]
    datagrams = [
        _datagram(dec.cipher(k) if k else None, s, p, k)
        for (s, _n, k), p in zip(items, payloads, strict=True)
    ]
    assert open_datagrams(datagrams, dec) == b"".join(payloads)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(4, 150), st.sampled_from([188, 1316, 1456]), st.integers(0, SEQ_MAX)),
        min_size=1,
        max_size=8,
    )
)
def test_one_decryptor_over_batches_of_varying_counts_and_sizes(
    batches: list[tuple[int, int, int]],
) -> None:
    """The counter layout kept between batches (grown, cut to the batch, rebuilt for
    another packet size, or a batch too big to keep arrays for: KEPT_ROWS) never leaks
    one batch's counters into the next."""
    from headwater_srt.wire.crypto import StreamDecryptor, make_key_material, open_datagrams

    km, _keys = make_key_material("batched passphrase", 16)
    dec = StreamDecryptor("batched passphrase", km)
    key = next(iter(dec.keys()))
    rng = random.Random(len(batches))
    for count, size, first in batches:
        payloads = [rng.randbytes(size if i % 5 else size // 2) for i in range(count)]
        datagrams = [
            _datagram(dec.cipher(key), (first + i) & SEQ_MAX, p, key)
            for i, p in enumerate(payloads)
        ]
        assert open_datagrams(datagrams, dec) == b"".join(payloads)


def test_open_datagram_clears_the_key_and_decrypts() -> None:
    from headwater_srt.wire.crypto import StreamDecryptor, make_key_material, open_datagram

    km, _keys = make_key_material("single passphrase", 16)
    dec = StreamDecryptor("single passphrase", km)
    sealed = _datagram(dec.cipher(1), 77, b"payload" * 100, 1)
    opened = open_datagram(sealed, dec)
    assert (opened[4] >> 3) & 3 == 0 and opened[:4] == sealed[:4] and opened[5:16] == sealed[5:16]
    assert opened[16:] == b"payload" * 100
