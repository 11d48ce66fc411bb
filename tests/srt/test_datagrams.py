"""Batch datagram reads (``recvmmsg`` through ctypes) on real loopback sockets: what a
batch holds equals what ``recvfrom`` returns, and a port drains the same whichever way it
reads."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from headwater_srt import server as srt_server
from headwater_srt.caller import Caller
from headwater_srt.datagrams import BATCH, SLOT, batch_reader, peer_key
from headwater_srt.wire.crypto import open_datagrams
from headwater_srt.wire.endpoint import Endpoint

from .fake_caller import FakeCaller, parse_handshake

pytestmark = pytest.mark.skipif(
    batch_reader(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) is None,
    reason="recvmmsg is Linux's",
)


def _udp(bind: bool = True) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    if bind:
        sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    made = [_udp() for _ in range(3)]
    made[0].setblocking(False)
    yield made
    for s in made:
        s.close()


def test_a_batch_holds_what_recvfrom_would_return(sockets: list[socket.socket]) -> None:
    rx, a, b = sockets
    reader = batch_reader(rx)
    assert reader is not None
    assert reader.read() == 0  # nothing queued: no error
    sent = []
    for i in range(3 * BATCH + 5):  # several batches, the last one short
        sender = (a, b)[i % 2]
        data = os.urandom((i * 97) % (SLOT + 300))  # empty, short, longer than a row
        sender.sendto(data, rx.getsockname())
        sent.append((data[:SLOT], sender.getsockname()))  # recvfrom(2048) cuts as well
    got = []
    while count := reader.read():
        lengths = reader.lengths[:count].tolist()
        dests, peers = reader.dests[:count].tolist(), reader.peers[:count].tolist()
        for i in range(count):
            data = reader.rows[i * SLOT : i * SLOT + lengths[i]]
            assert type(data) is bytes
            sender = reader.address(i)
            assert peers[i] == peer_key(sender)
            if len(data) >= 16:
                assert dests[i] == int.from_bytes(data[12:16], "big")
            got.append((data, sender))
    assert got == sent
    assert peer_key(a.getsockname()) != peer_key(b.getsockname())


def test_no_reader_for_ipv6_sockets() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        assert batch_reader(sock) is None


class _Service:
    """What a port calls on its service: every caller accepted with the passphrase."""

    def __init__(self, passphrase: str) -> None:
        self.passphrase = passphrase
        self.sessions: list = []

    def spawn(self, caller: Caller) -> None:
        self.sessions.append(caller.accept(self.passphrase))

    def wake(self) -> None:
        pass

    def activate(self, port: object) -> None:
        pass


def _reply(sock: socket.socket) -> bytes:
    sock.settimeout(2)
    return sock.recvfrom(SLOT)[0]


@pytest.mark.parametrize("batched", [True, False], ids=["recvmmsg", "recvfrom"])
def test_a_port_drains_the_same_whichever_way_it_reads(
    sockets: list[socket.socket], batched: bool
) -> None:
    """A caller's handshake and data reach its connection; a stranger's datagrams with
    the connection's socket id and runts do not."""
    rx, caller_sock, stranger = sockets
    service = _Service("drain passphrase")
    port = srt_server.SRTPort(service, rx, Endpoint())  # type: ignore[arg-type]
    assert port.reader is not None
    if not batched:
        port.reader = None
    caller = FakeCaller(passphrase="drain passphrase", stream_id="#!::r=live/x,m=publish")
    to = rx.getsockname()
    caller_sock.sendto(caller.induction(), to)
    port.drain()
    cookie = parse_handshake(_reply(caller_sock)).cookie
    caller_sock.sendto(caller.conclusion(cookie), to)
    port.drain()
    (session,) = service.sessions
    conn = session.connection
    caller.peer_socket = conn.info.socket_id
    assert parse_handshake(_reply(caller_sock)).socket_id == conn.info.socket_id
    payloads = [os.urandom(1316 if i % 9 else 188 * (i % 7)) for i in range(150)]
    for i, payload in enumerate(payloads):
        caller_sock.sendto(caller.data(caller.isn + i, payload, 1000 * i), to)
        if i % 10 == 0:  # the same socket id from elsewhere, and a runt
            stranger.sendto(caller.data(caller.isn + 500 + i, b"x" * 1316, 0), to)
            caller_sock.sendto(b"\x00" * 8, to)
    drained = sum(port.drain() for _ in range(4))
    assert drained == 150 + 2 * 15
    assert conn.receiver.stats.packets == 150
    assert open_datagrams(conn.receiver.drain(), conn.decryptor) == b"".join(payloads)
