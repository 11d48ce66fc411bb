"""End to end through a lossy network: ffmpeg (libsrt) → a relay written here that drops
5 % of the packets both ways, reorders and duplicates → our SRT transport.

What comes out must be exactly what ffmpeg sent: every TS packet, in order, byte for byte,
continuity counters unbroken; the receiver must have seen losses and recovered them all.
"""

from __future__ import annotations

import anyio
import pytest
from test_srt_support import LossyRelay, publish_args, srt_url

from headwater.testing import run_ffmpeg
from headwater_srt.caller import Caller
from headwater_srt.server import SRTService

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SECONDS = 3.0


def continuity_errors(ts: bytes) -> int:
    """Continuity counter breaks in a transport stream (ISO/IEC 13818-1 2.4.3.3)."""
    last: dict[int, int] = {}
    errors = 0
    for off in range(0, len(ts), 188):
        pkt = ts[off : off + 188]
        assert pkt[0] == 0x47, f"lost sync at {off}"
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        if pid == 0x1FFF or not pkt[3] & 0x10:  # null packets, no payload
            continue
        cc = pkt[3] & 0x0F
        if pid in last and cc != (last[pid] + 1) & 0x0F:
            errors += 1
        last[pid] = cc
    return errors


@pytest.mark.parametrize("passphrase", [None, "lossy-but-secret"])
async def test_lossy_reordering_duplicating_link_delivers_everything(
    test_media, passphrase
) -> None:
    clip = test_media("h264", "aac", "ts", seconds=SECONDS, size="320x240")
    got = bytearray()
    sessions = []
    finished = anyio.Event()

    async def handler(caller: Caller) -> None:
        session = caller.accept(passphrase)
        sessions.append(session)
        async for chunk in session:
            got.extend(chunk)
        finished.set()

    service = SRTService("127.0.0.1", [0], handler, latency_ms=1000)
    async with anyio.create_task_group() as tg:
        ((_, port),) = await tg.start(service.serve)
        relay = LossyRelay(port, loss=0.05, reorder=0.05, duplicate=0.03, impair_for=SECONDS - 1.5)
        relay_port = await tg.start(relay.run)
        url = srt_url(relay_port, "#!::r=live/lossy,m=publish", passphrase)
        await run_ffmpeg(publish_args(clip, url))
        with anyio.fail_after(5):
            await finished.wait()
        tg.cancel_scope.cancel()

    sent = relay.expected_payload(passphrase)
    stats = sessions[0].connection.receiver.stats
    assert relay.dropped >= 5 and stats.lost >= relay.dropped // 2
    assert stats.recovered >= 1 and stats.dropped == 0
    assert len(sent) > 0.6 * clip.stat().st_size
    assert bytes(got) == sent
    assert len(got) % 188 == 0 and continuity_errors(bytes(got)) == 0
