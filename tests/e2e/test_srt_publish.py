"""End to end: the bundled ffmpeg (libsrt) publishes over SRT to a running headwater.

Every accepted publication is checked frame by frame against the source clip (payload
bytes, timestamps, keyframes); every refusal is checked in ffmpeg's libsrt log line
(the rejection reason it received) and by no stream going live.
"""

from __future__ import annotations

import anyio
import pytest
from test_srt_support import (
    Collector,
    LossyRelay,
    assert_same_frames,
    by_codec,
    publish_args,
    source_frames,
    srt_url,
)

from headwater.testing import run_ffmpeg, running_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PASSPHRASE = "correct-horse-42"

CONFIG = {
    "templates": [{"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}]}],
    "streams": [
        {
            "name": "secure",
            "inputs": [{"url": "publish://"}],
            "srt_publish": {"passphrase": PASSPHRASE},
        }
    ],
}


@pytest.fixture
def clip(test_media):
    """A 2 s H.264 + AAC transport stream."""
    return test_media("h264", "aac", "ts", seconds=2.0, size="160x120")


async def publish(config, clip, streamid, passphrase=None, pbkeylen=16, check=True):
    """Publish ``clip`` through a (harmless) relay that records what ffmpeg really sent."""
    collector = Collector()
    async with (
        running_server(config, extra_plugins=[collector], protocols=("srt",)) as hw,
        anyio.create_task_group() as tg,
    ):
        relay = LossyRelay(hw.port("srt"))
        port = await tg.start(relay.run)
        url = srt_url(port, streamid, passphrase, pbkeylen)
        result = await run_ffmpeg(publish_args(clip, url), check=False)
        await anyio.sleep(0.2)
        wire = {s.name: s.stats.wire_bytes_in for s in hw.server.streams if s.stats.wire_bytes_in}
        tg.cancel_scope.cancel()
    if check:
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        sent = relay.expected_payload(passphrase)
        assert len(sent) > 0.6 * clip.stat().st_size  # the run is meaningful
        assert list(wire.values()) == [len(sent)]  # every byte ffmpeg sent was taken in
    return collector, result, relay


@pytest.mark.parametrize(
    ("streamid", "name"),
    [
        ("#!::r=live/cam1,m=publish", "live/cam1"),
        ("#!::u=live/author7", "live/author7"),
        ("publish:live/cam2", "live/cam2"),
        ("live/cam3", "live/cam3"),
    ],
)
async def test_stream_id_routing(clip, streamid, name) -> None:
    collector, _, relay = await publish(CONFIG, clip, streamid)
    assert list(collector.frames) == [name]
    # exactly the frames of what ffmpeg sent, and those are the clip's frames
    sent = source_frames(relay.expected_payload())
    assert by_codec(collector.frames[name]) == by_codec(sent)
    assert_same_frames(collector.frames[name], source_frames(clip.read_bytes()))


@pytest.mark.parametrize("pbkeylen", [16, 24, 32])
async def test_encrypted_publish(clip, pbkeylen) -> None:
    collector, _, relay = await publish(CONFIG, clip, "secure", PASSPHRASE, pbkeylen)
    assert relay.key_material is not None and relay.key_material[15] * 4 == pbkeylen
    assert by_codec(collector.frames["secure"]) == by_codec(
        source_frames(relay.expected_payload(PASSPHRASE))
    )
    assert_same_frames(collector.frames["secure"], source_frames(clip.read_bytes()))


@pytest.mark.parametrize(
    ("streamid", "passphrase", "reason"),
    [
        ("secure", "wrong-passphrase-1", "BADSECRET"),
        ("secure", None, "UNSECURE"),
        ("live/open", PASSPHRASE, "UNSECURE"),
        ("elsewhere/cam", None, "ERROR:"),
        ("#!::r=live/x,m=request", None, "ERROR:"),
    ],
    ids=[
        "wrong-passphrase",
        "missing-passphrase",
        "unexpected-passphrase",
        "unknown-name",
        "play-mode",
    ],
)
async def test_refusals(clip, streamid, passphrase, reason) -> None:
    collector, result, relay = await publish(CONFIG, clip, streamid, passphrase, check=False)
    assert result.returncode != 0
    assert reason in result.stderr.decode()
    assert collector.frames == {}
    assert relay.sent == {}  # refused in the handshake: not one data packet left ffmpeg
