"""End to end: RTSP publishers authorized and refused in RTSP's own terms — a password by a
401 challenge (Basic by default, Digest when configured; ffmpeg answers with the
credentials of its URL), ``?password=``, on_publish, unknown names, a taken name."""

from __future__ import annotations

import re

import anyio
import pytest
from rtsp_support import HANDLER_CALLS

from headwater.testing import run_ffmpeg, running_server, wait_for_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

CONFIG = {
    "streams": [{"name": "secure", "inputs": [{"url": "publish://"}], "password": "s3cret"}],
    "templates": [
        {"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}]},
        {
            "name": "hooked",
            "prefixes": ["hooked"],
            "inputs": [{"url": "publish://"}],
            "on_publish": {"url": "python:rtsp_support:token_check"},
        },
    ],
}


@pytest.fixture
def clip(test_media):
    return test_media("h264", "aac", "flv", seconds=1.0, gop=25, size="160x120")


def args(clip, url: str, realtime: bool = False) -> list[str]:
    return [
        *(["-re"] if realtime else []),
        "-i",
        str(clip),
        "-c",
        "copy",
        "-f",
        "rtsp",
        "-rtsp_transport",
        "tcp",
        url,
    ]


async def publish(clip, path: str, auth: str = "basic", userinfo: str = ""):
    config = {**CONFIG, "rtsp": {"auth": auth}}
    async with running_server(config, protocols=("rtsp",)) as hw:
        port = hw.port("rtsp")
        url = f"rtsp://{userinfo}127.0.0.1:{port}/{path}"
        result = await run_ffmpeg(args(clip, url), check=False)
        stream = hw.server.streams.get(path.partition("?")[0])
        with anyio.fail_after(5):  # what ffmpeg sent may still be in the socket buffer
            while stream is not None and stream.live:  # noqa: ASYNC110 (no "ended" event)
                await anyio.sleep(0.05)
        frames = stream.stats.frames_in if stream is not None else 0
    return result.returncode, result.stderr.decode(), frames


@pytest.mark.parametrize(
    ("path", "auth", "userinfo"),
    [
        ("secure", "basic", "user:s3cret@"),
        ("secure", "digest", "user:s3cret@"),
        ("secure?password=s3cret", "basic", ""),
        ("live/open", "digest", ""),
        ("hooked/cam?token=good", "basic", ""),
    ],
    ids=["basic", "digest", "query-password", "no-password-needed", "on-publish-allows"],
)
async def test_accepted(clip, path, auth, userinfo):
    HANDLER_CALLS.clear()
    code, stderr, frames = await publish(clip, path, auth, userinfo)
    assert code == 0, stderr[-1500:]
    assert frames >= 25 + 40  # the whole second of video and audio arrived
    if path.startswith("hooked"):
        (call,) = HANDLER_CALLS
        assert call["proto"] == "rtsp" and call["name"] == "hooked/cam"
        assert call["args"] == {"token": "good"}


@pytest.mark.parametrize(
    ("path", "auth", "userinfo", "status"),
    [
        ("secure", "basic", "", "401"),
        ("secure", "basic", "user:wrong@", "401"),
        ("secure", "digest", "user:wrong@", "401"),
        ("secure?password=wrong", "basic", "", "401"),
        ("elsewhere/cam", "basic", "", "404"),
        ("live/../etc", "basic", "", "400"),
        ("hooked/cam?token=bad", "basic", "", "403"),
    ],
    ids=[
        "no-credentials",
        "wrong-basic",
        "wrong-digest",
        "wrong-query-password",
        "unknown-name",
        "bad-name",
        "on-publish-forbids",
    ],
)
async def test_refused(clip, path, auth, userinfo, status):
    code, stderr, frames = await publish(clip, path, auth, userinfo)
    assert code != 0
    # ffmpeg logs "method ANNOUNCE failed: 401 Unauthorized" or "Server returned 400 ..."
    assert re.search(rf"(ANNOUNCE failed|Server returned):? {status} ", stderr), stderr[-800:]
    assert frames == 0


async def test_a_taken_name_is_453(test_media):
    clip = test_media("h264", "aac", "flv", seconds=3.0, gop=25, size="160x120")
    async with running_server(protocols=("rtsp",)) as hw, anyio.create_task_group() as tg:
        url = hw.url("rtsp", "live/busy")
        tg.start_soon(run_ffmpeg, args(clip, url, realtime=True))
        await wait_for_stream(hw.server, "live/busy", timeout=15)
        second = await run_ffmpeg(args(clip, url), check=False)
        assert second.returncode != 0
        assert "ANNOUNCE failed: 453" in second.stderr.decode()
        assert hw.server.streams.get("live/busy").publisher["port"] != 0  # the first goes on
        tg.cancel_scope.cancel()
