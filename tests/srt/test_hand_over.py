"""When an SRT port hands delivered payload to its sessions: a busy stream every 40 ms
(16 packets), a small one once 100 ms have gathered, a closing one at once; each session
on its own phase of the four ticks; bytes in order either way."""

from __future__ import annotations

import itertools
from typing import Any

import anyio

from headwater_srt import server as srt_server
from headwater_srt.caller import Session
from headwater_srt.server import HAND_OVER_PACKETS, HAND_OVER_TICKS, HAND_OVER_WAIT, SRTPort
from headwater_srt.wire.control import shutdown_packet
from headwater_srt.wire.endpoint import Endpoint

from .fake_caller import FakeCaller
from .test_endpoint import PEER, accept

MS = 1000


class _Socket:
    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", 9)

    def sendto(self, data: bytes, addr: Any) -> int:
        return len(data)


def _port(packets_per_tick: int, ticks: int) -> tuple[list[int], bytes, bytes]:
    """Feed a stream of ``packets_per_tick`` packets per 10 ms to a port; return the
    ticks at which its session got payload, what it got and what was sent."""
    ep = Endpoint()
    port = SRTPort(None, _Socket(), ep)  # type: ignore[arg-type]
    caller = FakeCaller()
    conn, hs = accept(ep, caller)
    caller.peer_socket = hs.socket_id
    conn.receiver.latency = 0
    session = Session(conn, PEER, 9)
    got: list[bytes] = []
    at: list[int] = []
    session.deliver = lambda data: (got.append(data), at.append(tick))  # type: ignore[method-assign]
    port.sessions[hs.socket_id] = session
    sent = []
    seq = caller.isn
    for tick in range(1, ticks + 1):
        now = tick * 10 * MS
        for _ in range(packets_per_tick):
            payload = seq.to_bytes(4, "big") * 329
            sent.append(payload)
            ep.datagram_received(caller.data(seq, payload, now - 5 * MS), PEER, now - 1)
            seq += 1
        port.tick(now, True, tick % HAND_OVER_TICKS)
    phase = hs.socket_id % HAND_OVER_TICKS
    assert all(t % HAND_OVER_TICKS == phase for t in at)
    return at, b"".join(got), b"".join(sent)


def test_a_busy_stream_is_handed_over_at_each_of_its_phase_ticks() -> None:
    at, got, sent = _port(HAND_OVER_PACKETS // 4 + 1, 40)
    assert [b - a for a, b in itertools.pairwise(at)] == [HAND_OVER_TICKS] * (len(at) - 1)
    tail = HAND_OVER_TICKS * (HAND_OVER_PACKETS // 4 + 1) * 1316  # since its last phase tick
    assert sent.startswith(got) and len(sent) - len(got) <= tail


def test_a_small_stream_gathers_for_the_hand_over_wait() -> None:
    at, got, sent = _port(1, 60)
    gaps = [b - a for a, b in itertools.pairwise(at)]
    wait_ticks = HAND_OVER_WAIT // (10 * MS)
    assert gaps and all(wait_ticks <= g < wait_ticks + HAND_OVER_TICKS for g in gaps)
    assert sent.startswith(got)


def test_a_closed_connection_hands_over_at_once(monkeypatch: Any) -> None:
    monkeypatch.setattr(srt_server, "now_us", lambda: 0)
    ep = Endpoint()
    port = SRTPort(None, _Socket(), ep)  # type: ignore[arg-type]
    caller = FakeCaller()
    conn, hs = accept(ep, caller)
    caller.peer_socket = hs.socket_id
    conn.receiver.latency = 0
    got: list[bytes] = []
    session = Session(conn, PEER, 9)
    session.deliver = got.append  # type: ignore[method-assign]
    session.finish = lambda: None  # type: ignore[method-assign]
    port.sessions[hs.socket_id] = session
    ep.datagram_received(caller.data(caller.isn, b"last words", 0), PEER, 1)
    ep.datagram_received(shutdown_packet(1, hs.socket_id), PEER, 2)  # the caller leaves
    port.tick(10 * MS, True, (hs.socket_id + 1) % HAND_OVER_TICKS)  # not its phase
    assert got == [b"last words"]
    port.tick(20 * MS, True, hs.socket_id % HAND_OVER_TICKS)
    assert hs.socket_id not in port.sessions and hs.socket_id not in ep.connections
    anyio.run(anyio.sleep, 0)  # the session's streams are closed with it
