"""The SRT bench's own parts: the sans-I/O caller against the real endpoint, the
no-socket receive scenario (byte-exact on a lossy link), and a tiny run of asyncio
callers in their own process against a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import run
from bench.harness.srt_caller import PreparedClip, SrtCaller, cut_like_ffmpeg
from headwater_srt.wire.endpoint import Endpoint

pytestmark = pytest.mark.e2e

TS = b"".join(
    bytes([0x47, 0x40 if i % 20 == 0 else 0, 0x100 & 0xFF, 0x10]) + bytes(184) for i in range(400)
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("srt-bench-cache")


def test_clip_is_cut_like_ffmpeg() -> None:
    chunks = cut_like_ffmpeg(TS)
    assert b"".join(chunks) == TS
    assert all(len(c) % 188 == 0 and 0 < len(c) <= 1316 for c in chunks)
    assert [len(c) for c in chunks[:4]] == [1316, 1316, 188 * 6, 1316]  # frames every 20


def test_caller_connects_sends_and_retransmits() -> None:
    ep = Endpoint()
    clip = PreparedClip(TS, 1.0, 2.0, "bench passphrase", 16)
    caller = SrtCaller(clip, "#!::r=live/x", 0x77)
    peer = ("127.0.0.1", 5000)
    pending = caller.connect(0)
    now = 0
    while caller.state not in ("connected", "refused"):
        for d in pending:
            ep.datagram_received(d, peer, now)
        for r in ep.requests:
            ep.accept(r, "bench passphrase", now)
        ep.requests.clear()
        pending = [x for d, _ in ep.outgoing for x in caller.receive(d, now)]
        ep.outgoing.clear()
        now += 1000
    assert caller.state == "connected"
    ((conn, _),) = ep.connections.values()
    # 300 ms of packets arrive at once: a latency that still leaves time to ask for the
    # lost one (the receiver does not NAK what could no longer arrive in time) ...
    conn.receiver.latency = 2_000_000
    sent = caller.due(now + 300_000)
    assert len(sent) > 10
    for d in sent[:3] + sent[4:]:  # the fourth is lost
        ep.datagram_received(d, peer, now + 300_000)
    nak = [x for d, _ in ep.outgoing for x in caller.receive(d, now + 300_000)]
    assert len(nak) == 1 and caller.retransmitted == 1
    ep.datagram_received(nak[0], peer, now + 300_001)
    conn.receiver.latency = 0  # ... then everything is due
    ep.tick(now + 10**6)
    assert conn.take_payload() == b"".join(cut_like_ffmpeg(TS)[: len(sent)])


def test_srt_receive_is_byte_exact_on_a_lossy_link(cache: Path) -> None:
    figures = run("srt_receive", ["--publishers", "3", "--seconds", "1", "--repeat", "1",
                                  "--loss", "7", "--size", "320x180", "--mbps", "1",
                                  "--clip-seconds", "3", "--cache-dir", str(cache)])  # fmt: skip
    assert figures["byte_exact"] == 1.0 and figures["cpu_s_per_gb"] > 0


def test_asyncio_callers_tiny_run(cache: Path) -> None:
    argv = ["--publishers", "2", "--seconds", "2", "--warmup", "2", "--size", "320x180",
            "--mbps", "1", "--clip-seconds", "3", "--targets", "headwater", "--client",
            "asyncio", "--callers-per-process", "1", "--cache-dir", str(cache)]  # fmt: skip
    (row,) = run("srt", argv)
    assert row.connected == 2 and row.bytes_in > 100_000, row.errors
    assert row.drops_loss.startswith("lost ") and "of 0 pkts" not in row.drops_loss
