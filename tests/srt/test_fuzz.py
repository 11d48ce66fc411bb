"""Property tests: every SRT parser turns arbitrary bytes into a result or a clear
ProtocolError, never another exception, and never hangs."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from headwater import ProtocolError
from headwater_srt.wire.control import Ack, decode_loss_list, parse_dropreq
from headwater_srt.wire.endpoint import Endpoint
from headwater_srt.wire.handshake import Handshake, decode_stream_id, encode_stream_id
from headwater_srt.wire.keymaterial import KeyMaterial
from headwater_srt.wire.packet import parse_packet

from .fake_caller import FakeCaller, parse_handshake

PARSERS = [
    parse_packet,
    Handshake.parse,
    KeyMaterial.parse,
    decode_loss_list,
    Ack.parse,
    parse_dropreq,
    decode_stream_id,
]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_parsers_raise_only_protocol_errors(data: bytes) -> None:
    for parse in PARSERS:
        with contextlib.suppress(ProtocolError):
            parse(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=128))
def test_stream_id_round_trip(text: str) -> None:
    if "\0" in text or len(text.encode()) > 512:
        return
    assert decode_stream_id(encode_stream_id(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=200), max_size=20), st.binary(max_size=64))
def test_endpoint_and_connection_survive_garbage(datagrams: list[bytes], tail: bytes) -> None:
    ep = Endpoint()
    peer = ("127.0.0.1", 5000)
    caller = FakeCaller(stream_id="x")
    ep.datagram_received(caller.induction(), peer, 0)
    cookie = parse_handshake(ep.outgoing.pop()[0]).cookie
    ep.datagram_received(caller.conclusion(cookie), peer, 1)
    conn = ep.accept(ep.requests.pop(), None, 2)
    sid = conn.info.socket_id.to_bytes(4, "big")
    for i, d in enumerate(datagrams):
        # half of them addressed to the connection, so they reach its parsers
        data = d[:12] + sid + d[16:] if i % 2 and len(d) >= 16 else d
        ep.datagram_received(data + tail, peer, 10 + i)
    ep.tick(10_000_000)
