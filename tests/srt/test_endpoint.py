"""The listener side of the handshake and the connection state machine, without sockets
(draft-sharabayko-srt §4.3 caller-listener handshake, §3.2 control packets)."""

from __future__ import annotations

from headwater_srt.wire.control import Ack, ackack_packet, decode_loss_list, shutdown_packet
from headwater_srt.wire.endpoint import Endpoint
from headwater_srt.wire.handshake import (
    SRT_MAGIC,
    ExtensionType,
    HandshakeType,
    HsExtension,
    encode_stream_id,
)
from headwater_srt.wire.packet import ControlPacket, ControlType, parse_packet
from headwater_srt.wire.rejection import RejectReason

from .fake_caller import LIVE_FLAGS, FakeCaller, parse_handshake

PEER = ("127.0.0.1", 40000)
MS = 1000


def handshake(ep: Endpoint, caller: FakeCaller, now: int = 0):
    ep.datagram_received(caller.induction(), PEER, now)
    ((reply, to),) = ep.outgoing
    ep.outgoing.clear()
    assert to == PEER
    hs = parse_handshake(reply)
    assert (hs.version, hs.type, hs.extension) == (5, HandshakeType.INDUCTION, SRT_MAGIC)
    assert hs.peer_ip[:4] == bytes([1, 0, 0, 127])  # libsrt's little-endian IPv4 word
    ep.datagram_received(caller.conclusion(hs.cookie), PEER, now + 1)
    assert ep.outgoing == []
    (request,) = ep.requests
    ep.requests.clear()
    return request, hs.cookie


def accept(ep: Endpoint, caller: FakeCaller, passphrase: str | None = None, now: int = 10):
    request, _ = handshake(ep, caller)
    conn = ep.accept(request, passphrase, now)
    ((reply, _),) = ep.outgoing
    ep.outgoing.clear()
    return conn, parse_handshake(reply)


def test_induction_conclusion_accept_with_stream_id_and_latency() -> None:
    ep = Endpoint(latency_ms=200)
    caller = FakeCaller(stream_id="#!::r=live/cam1,m=publish", latency_ms=300)
    request, _ = handshake(ep, caller)
    assert request.stream_id == "#!::r=live/cam1,m=publish"
    assert not request.encrypted
    conn = ep.accept(request, None, 10)
    ((reply, _),) = ep.outgoing
    hs = parse_handshake(reply)
    assert hs.type == HandshakeType.CONCLUSION and hs.socket_id == conn.info.socket_id
    hsrsp = HsExtension.parse(hs.find(ExtensionType.HSRSP))
    assert (hsrsp.recv_delay, hsrsp.send_delay) == (300, 300)  # the larger latency wins
    assert conn.info.latency == 300_000
    assert hs.isn == caller.isn


def test_bad_cookie_is_ignored_and_v4_is_refused() -> None:
    ep = Endpoint()
    caller = FakeCaller()
    ep.datagram_received(caller.conclusion(cookie=12345), PEER, 0)
    assert ep.outgoing == [] and ep.requests == []
    ep.datagram_received(caller.induction(), PEER, 0)
    cookie = parse_handshake(ep.outgoing.pop()[0]).cookie
    old = FakeCaller(version=4)
    ep.datagram_received(old.conclusion(cookie), PEER, 1)
    hs = parse_handshake(ep.outgoing.pop()[0])
    assert hs.type == 1000 + RejectReason.VERSION


def test_repeated_conclusion_gets_the_same_answer() -> None:
    ep = Endpoint()
    caller = FakeCaller()
    request, cookie = handshake(ep, caller)
    ep.datagram_received(caller.conclusion(cookie), PEER, 2)  # still pending: silence
    assert ep.outgoing == [] and ep.requests == []
    ep.accept(request, None, 3)
    first = ep.outgoing.pop()[0]
    ep.datagram_received(caller.conclusion(cookie), PEER, 4)
    assert ep.outgoing.pop()[0] == first
    assert ep.requests == []


def test_encryption_mismatches_are_refused() -> None:
    cases = [
        (FakeCaller(passphrase="caller passphrase"), "server passphrase", RejectReason.BADSECRET),
        (FakeCaller(), "server passphrase", RejectReason.UNSECURE),
        (FakeCaller(passphrase="caller passphrase"), None, RejectReason.UNSECURE),
    ]
    for caller, passphrase, reason in cases:
        ep = Endpoint()
        request, _ = handshake(ep, caller)
        assert ep.accept(request, passphrase, 5) == reason
        hs = parse_handshake(ep.outgoing.pop()[0])
        assert hs.type == reason.handshake_type
        assert ep.connections == {}


def test_checked_secret_is_not_derived_again_on_accept(monkeypatch) -> None:
    """check_secret then accept (what the publisher does) runs PBKDF2 once; a different
    passphrase at accept is checked afresh."""
    from headwater_srt.wire import crypto

    calls = []
    real = crypto.derive_kek
    monkeypatch.setattr(crypto, "derive_kek", lambda *a: calls.append(a) or real(*a))
    ep = Endpoint()
    request, _ = handshake(ep, FakeCaller(passphrase="caller passphrase"))
    calls.clear()  # the caller's own key wrapping
    assert ep.check_secret(request, "caller passphrase") is None
    assert len(calls) == 1
    conn = ep.accept(request, "caller passphrase", 5)
    assert len(calls) == 1
    assert conn.decryptor is request.checked[1]

    ep = Endpoint()
    request, _ = handshake(ep, FakeCaller(passphrase="caller passphrase"))
    calls.clear()
    assert ep.check_secret(request, "caller passphrase") is None
    assert ep.accept(request, "another passphrase", 5) == RejectReason.BADSECRET
    assert len(calls) == 2


def test_unsupported_caller_modes_are_refused() -> None:
    from headwater_srt.wire.handshake import SrtFlag

    cases = [
        (FakeCaller(flags=LIVE_FLAGS | SrtFlag.STREAM), RejectReason.MESSAGEAPI),
        (
            FakeCaller(extra=[(ExtensionType.CONGESTION, encode_stream_id("file"))]),
            RejectReason.CONGESTION,
        ),
        (FakeCaller(extra=[(ExtensionType.FILTER, encode_stream_id("fec"))]), RejectReason.FILTER),
        (FakeCaller(extra=[(ExtensionType.GROUP, b"\0" * 8)]), RejectReason.GROUP),
    ]
    for caller, reason in cases:
        ep = Endpoint()
        ep.datagram_received(caller.induction(), PEER, 0)
        cookie = parse_handshake(ep.outgoing.pop()[0]).cookie
        ep.datagram_received(caller.conclusion(cookie), PEER, 1)
        assert parse_handshake(ep.outgoing.pop()[0]).type == reason.handshake_type


def test_refusal_by_the_application() -> None:
    ep = Endpoint()
    request, _ = handshake(ep, FakeCaller())
    ep.reject(request, RejectReason.X_NOTFOUND, 5)
    assert parse_handshake(ep.outgoing.pop()[0]).type == 2404


def test_encrypted_data_flows_with_loss_ack_and_shutdown() -> None:
    ep = Endpoint()
    caller = FakeCaller(passphrase="a good passphrase", key_length=32)
    conn, hs = accept(ep, caller, "a good passphrase")
    assert hs.find(ExtensionType.KMRSP) == caller.km.encode()
    caller.peer_socket = hs.socket_id
    payloads = [bytes([i]) * 1316 for i in range(6)]
    for i in (0, 1, 3, 4):
        ep.datagram_received(caller.data(caller.isn + i, payloads[i], i * MS), PEER, 20 + i * MS)
    ((nak, _),) = ep.outgoing
    ep.outgoing.clear()
    pkt = parse_packet(nak)
    assert pkt.type == ControlType.NAK and decode_loss_list(pkt.cif) == [(1002, 1002)]
    ep.datagram_received(
        caller.data(caller.isn + 2, payloads[2], 2 * MS, rexmit=True), PEER, 5 * MS
    )
    ep.tick(20 * MS)  # 5 packets, 20 ms: not yet worth a full ACK
    assert not [d for d, _ in ep.outgoing if parse_packet(d).type == ControlType.ACK]
    ep.tick(90 * MS)  # 80 ms after the connection started
    acks = [parse_packet(d) for d, _ in ep.outgoing]
    ack = next(p for p in acks if p.type == ControlType.ACK)
    assert Ack.parse(ack.cif).last_seq == caller.isn + 5
    ep.outgoing.clear()
    ep.datagram_received(ackack_packet(ack.type_info, 91 * MS, hs.socket_id), PEER, 100 * MS)
    assert conn.receiver.rtt < 100_000
    ep.tick(200 * MS)
    assert conn.take_payload() == b"".join(payloads[:5])
    ep.datagram_received(caller.data(caller.isn + 5, payloads[5], 5 * MS), PEER, 201 * MS)
    ep.datagram_received(shutdown_packet(0, hs.socket_id), PEER, 202 * MS)
    assert conn.closed and conn.close_reason == "peer shut down"
    assert conn.take_payload() == payloads[5]  # buffered payload is flushed on shutdown
    assert ep.tick(203 * MS) == [conn]
    assert ep.connections == {}


def test_keepalive_and_idle_timeout() -> None:
    ep = Endpoint(idle_timeout=3_000_000)
    conn, _ = accept(ep, FakeCaller())
    ep.tick(1_100_000)
    ((ka, _),) = ep.outgoing
    assert parse_packet(ka).type == ControlType.KEEPALIVE
    ep.outgoing.clear()
    ep.tick(3_100_000)
    assert conn.closed and conn.close_reason == "peer idle timeout"


def test_kmreq_rekeying_is_answered() -> None:
    ep = Endpoint()
    caller = FakeCaller(passphrase="rekey passphrase")
    conn, hs = accept(ep, caller, "rekey passphrase")
    new = FakeCaller(passphrase="rekey passphrase")
    req = ControlPacket(
        ControlType.USER, 0, hs.socket_id, subtype=ExtensionType.KMREQ, cif=new.km.encode()
    ).encode()
    ep.datagram_received(req, PEER, 50)
    ((rsp, _),) = ep.outgoing
    pkt = parse_packet(rsp)
    assert pkt.subtype == ExtensionType.KMRSP and bytes(pkt.cif) == new.km.encode()
    new.peer_socket = hs.socket_id
    ep.datagram_received(new.data(caller.isn, b"rekeyed payload", 0), PEER, 60)
    conn.receiver.latency = 0
    ep.tick(1000)
    assert conn.take_payload() == b"rekeyed payload"


def test_garbage_to_a_connection_closes_only_that_connection() -> None:
    ep = Endpoint()
    conn, hs = accept(ep, FakeCaller())
    bad = ControlPacket(ControlType.DROPREQ, 0, hs.socket_id, cif=b"\0").encode()
    ep.datagram_received(bad, PEER, 100)
    assert conn.closed and conn.close_reason.startswith("protocol error")
    ep.datagram_received(b"\x80\0\0\0" * 3 + b"\0\0\0\0" + b"junk", PEER, 101)  # no crash
