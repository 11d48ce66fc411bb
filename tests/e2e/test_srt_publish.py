"""End to end: the bundled ffmpeg (libsrt) publishes over SRT to a running headwater.

Every accepted publication is checked frame by frame against the source clip (payload
bytes, timestamps, keyframes); every refusal is checked in ffmpeg's libsrt log line
(the rejection reason it received) and by no stream going live.
"""

from __future__ import annotations

import pytest
from test_srt_support import Collector, assert_same_frames, publish_args, source_frames, srt_url

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
    collector = Collector()
    async with running_server(config, extra_plugins=[collector], protocols=("srt",)) as hw:
        url = srt_url(hw.port("srt"), streamid, passphrase, pbkeylen)
        result = await run_ffmpeg(publish_args(clip, url), check=False)
    if check:
        assert result.returncode == 0, result.stderr.decode()[-2000:]
    return collector, result


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
    collector, _ = await publish(CONFIG, clip, streamid)
    assert list(collector.frames) == [name]
    assert_same_frames(collector.frames[name], source_frames(clip.read_bytes()))


@pytest.mark.parametrize("pbkeylen", [16, 24, 32])
async def test_encrypted_publish(clip, pbkeylen) -> None:
    collector, _ = await publish(CONFIG, clip, "secure", PASSPHRASE, pbkeylen)
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
    collector, result = await publish(CONFIG, clip, streamid, passphrase, check=False)
    assert result.returncode != 0
    assert reason in result.stderr.decode()
    assert collector.frames == {}
