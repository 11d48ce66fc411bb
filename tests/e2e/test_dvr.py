"""End to end with the bundled ffmpeg: publish with ``dvr`` on (RTMP, SRT), let the dynamic
stream expire, then list the ranges and read the archive back as HLS and as one TS download,
and compare frames with what was sent; publish again after a gap (a second range); restart
and find the same ranges; size and age retention on real recordings."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest
from test_srt_support import srt_url

from headwater.media.mpegts import TracksChanged, TSReader
from headwater.testing import read_packets_async, run_ffmpeg, running_server
from headwater_dvr.service import service_for

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PARAMETER_SETS = {7, 8}  # H.264 SPS and PPS: the TS writer repeats them before keyframes


def dvr_config(root, **dvr) -> dict:
    return {
        "templates": [
            {
                "name": "rec",
                "prefixes": ["rec"],
                "inputs": [{"url": "publish://"}],
                "dvr": {"root": str(root), "segment_duration": 1, **dvr},
            }
        ],
        "limits": {"dynamic_stream_ttl": 0.5},
    }


def frames_of(data: bytes) -> dict[str, list[tuple]]:
    """Per codec: (pts, keyframe, payload) of every frame of a TS buffer, SPS/PPS left out."""
    reader = TSReader()
    out: dict[str, list[tuple]] = {}
    for e in reader.feed(data) + reader.flush():
        if isinstance(e, TracksChanged):
            continue
        if e.nalus:
            payload = tuple(n for n in e.nalus if n[0] & 0x1F not in PARAMETER_SETS)
        else:
            payload = (bytes(e.data),)
        out.setdefault(e.track.codec.value, []).append((e.pts, e.keyframe, payload))
    return out


def assert_same_frames(got: dict, source: dict, *, prefix: bool = False) -> None:
    """Video frame for frame (a prefix of the source when ``prefix``), audio a run of the
    source's; all timestamps shifted by one constant."""
    video, src_video = got["h264"], source["h264"]
    assert video[0][1], "the archive must start at a keyframe"
    if prefix:
        src_video = src_video[: len(video)]
    assert [f[1:] for f in video] == [f[1:] for f in src_video]
    shift = video[0][0] - src_video[0][0]
    assert all(a[0] - b[0] == shift for a, b in zip(video, src_video, strict=True))
    audio, src_audio = got["aac"], source["aac"]
    payloads = [f[2] for f in src_audio]
    first = payloads.index(audio[0][2])
    assert [f[2] for f in audio] == payloads[first : first + len(audio)]
    assert audio[0][0] - src_audio[first][0] == shift
    if not prefix:
        assert len(audio) >= len(src_audio) - 3


async def publish(hw, clip, name: str, proto: str = "rtmp") -> None:
    if proto == "rtmp":
        args = ["-re", "-i", str(clip), "-c", "copy", "-f", "flv", hw.url("rtmp", name)]
    else:
        url = srt_url(hw.port("srt"), f"{name}")
        args = ["-re", "-i", str(clip), "-c", "copy", "-f", "mpegts", url]
    await run_ffmpeg(args, timeout=30)


async def wait_gone(hw, name: str) -> None:
    """Until the dynamic stream has left the registry (the archive must outlive it)."""
    with anyio.fail_after(10):
        while True:
            if hw.server.streams.get(name) is None and name not in hw.server.publications:
                return
            await anyio.sleep(0.1)


async def ranges_of(http: httpx.AsyncClient, name: str) -> list[dict]:
    got = await http.get(f"/streamer/api/v3/streams/{name}/dvr/ranges")
    assert got.status_code == 200, got.text
    return got.json()["ranges"]


@pytest.fixture(scope="module")
def ts_source(tmp_path_factory, test_media):
    """A 4 s H.264 + AAC clip as FLV (to publish over RTMP) and the same as TS (to compare)."""
    import subprocess

    from headwater.testing import ffmpeg_exe

    flv = test_media("h264", "aac", "flv", seconds=4, gop=25)
    ts = tmp_path_factory.mktemp("dvr") / "source.ts"
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(flv), "-c", "copy", str(ts)],
        check=True,
        timeout=60,
    )
    return flv, ts, frames_of(ts.read_bytes())


@pytest.mark.parametrize("proto", ["rtmp", "srt"])
async def test_record_list_and_play_back(ts_source, tmp_path, proto):
    """Publish, let the stream expire, then ranges → HLS VOD and TS download of the range."""
    flv, ts, source = ts_source
    clip = flv if proto == "rtmp" else ts
    root = tmp_path / "dvr"
    protocols = ("http", proto)
    async with running_server(dvr_config(root), protocols=protocols) as hw:
        await publish(hw, clip, "rec/cam", proto)
        await wait_gone(hw, "rec/cam")
        async with httpx.AsyncClient(base_url=hw.http_url()) as http:
            ranges = await ranges_of(http, "rec/cam")
            assert len(ranges) == 1
            start, duration = ranges[0]["from"], ranges[0]["duration"]
            assert 3 <= duration <= 6
            playlist = await http.get(f"/rec/cam/archive-{start}-{duration}.m3u8")
            assert playlist.status_code == 200, playlist.text
            assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
            text = playlist.text
            assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.endswith("#EXT-X-ENDLIST\n")
            assert text.count("#EXT-X-PROGRAM-DATE-TIME:") == text.count("#EXTINF:") >= 3
            assert "#EXT-X-DISCONTINUITY\n" not in text
            legacy = await http.get(f"/rec/cam/index-{start}-{duration}.m3u8")
            assert legacy.text == text
            download = await http.get(f"/rec/cam/archive-{start}-{duration}.ts")
            assert download.status_code == 200
            assert download.headers["content-type"] == "video/mp2t"
            got = frames_of(download.content)
            if proto == "srt":
                # ffmpeg's SRT caller closes with its last video frame incomplete, and under
                # load libsrt may drop the last few packets it had not sent yet: every frame
                # that arrived is archived exactly, and at most a few at the very end are not
                assert len(source["h264"]) - 5 <= len(got["h264"]) <= len(source["h264"])
                got["h264"] = got["h264"][:-1]
            assert_same_frames(got, source, prefix=proto == "srt")
        # ffmpeg's HLS client reads the playlist and its segments: the same packets
        hls, hls_header = await read_packets_async(
            hw.http_url(f"rec/cam/archive-{start}-{duration}.m3u8")
        )
        whole, whole_header = await read_packets_async(
            hw.http_url(f"rec/cam/archive-{start}-{duration}.ts")
        )
    assert hls_header["codec_id 0"] == whole_header["codec_id 0"]
    assert [(p.stream, p.pts, p.size, p.crc) for p in hls] == [
        (p.stream, p.pts, p.size, p.crc) for p in whole
    ]


async def test_republish_after_a_gap_and_restart(ts_source, tmp_path):
    """Two publications with a gap: two ranges, a DISCONTINUITY in a playlist over both;
    a restart finds the same ranges in the index; stats show dvr_info while live."""
    flv, _ts, _source = ts_source
    root = tmp_path / "dvr"
    data = tmp_path / "data"
    async with running_server(dvr_config(root), protocols=("http", "rtmp"), data_dir=data) as hw:
        await publish(hw, flv, "rec/two")
        await anyio.sleep(2.0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(publish, hw, flv, "rec/two")
            async with httpx.AsyncClient(base_url=hw.http_url()) as http:
                with anyio.fail_after(10):
                    while True:
                        got = (await http.get("/streamer/api/v3/streams/rec/two")).json()
                        stats = got.get("stats", {})
                        if stats.get("alive") and stats.get("dvr_info"):
                            break
                        await anyio.sleep(0.2)
                info = got["stats"]["dvr_info"]
                assert got["stats"]["dvr_enabled"] is True and info["from"] > 0
                assert info["bytes"] > 0 and len(info["ranges"]) >= 1
                # while it records, a window up to "now" is an EVENT playlist without an end
                event = await http.get(f"/rec/two/archive-{info['from']}-now.m3u8")
                assert "#EXT-X-PLAYLIST-TYPE:EVENT" in event.text
                assert "#EXT-X-ENDLIST" not in event.text and "#EXTINF:" in event.text
                # the DVR names the recorded archive among the stream's play URLs
                dvr_urls = [u["url"] for u in got["play_urls"] if u["proto"] == "dvr"]
                assert dvr_urls[0].startswith(hw.http_url(f"rec/two/archive-{info['from']}-"))
                assert dvr_urls[0].endswith(".m3u8") and dvr_urls[1].endswith(".ts")
                named = await http.get(dvr_urls[0])
                assert named.status_code == 200 and "#EXTINF:" in named.text
        await wait_gone(hw, "rec/two")
        async with httpx.AsyncClient(base_url=hw.http_url()) as http:
            before = await ranges_of(http, "rec/two")
            assert len(before) == 2, before
            gap = before[1]["from"] - (before[0]["from"] + before[0]["duration"])
            assert gap >= 0  # ranges are rounded outwards to whole seconds
            span = before[1]["from"] + before[1]["duration"] - before[0]["from"]
            text = (await http.get(f"/rec/two/archive-{before[0]['from']}-{span}.m3u8")).text
            assert text.count("#EXT-X-DISCONTINUITY\n") == 1
    async with (
        running_server(dvr_config(root), protocols=("http",), data_dir=data) as hw,
        httpx.AsyncClient(base_url=hw.http_url()) as http,
    ):
        assert await ranges_of(http, "rec/two") == before


async def test_refusals(tmp_path):
    """Bad names and ranges answer 400, unknown archives and empty windows 404."""
    async with (
        running_server(dvr_config(tmp_path / "dvr"), protocols=("http",)) as hw,
        httpx.AsyncClient(base_url=hw.http_url()) as http,
    ):
        now = int(time.time())
        cases = [
            ("/rec/x/archive-abc-60.m3u8", 400, "UTC seconds"),
            ("/rec/x/archive-100-0.m3u8", 400, "duration"),
            ("/rec/x/archive-100-999999.ts", 400, "at most"),
            (f"/rec/x/archive-{now - 100}-60.m3u8", 404, "no recording"),
            (f"/rec/x/archive-{now - 100}-60.ts", 404, "no recording"),
            ("/other/archive-100-60.m3u8", 404, "has no DVR"),
            ("/rec/x/dvr/123.ts", 404, "no segment"),
            ("/streamer/api/v3/streams/other/dvr/ranges", 404, "has no DVR"),
        ]
        for path, status, words in cases:
            got = await http.get(path)
            assert got.status_code == status, (path, got.text)
            assert words in got.text, (path, got.text)
        event = await http.get(f"/rec/x/archive-{now - 10}-now.m3u8")
        assert event.status_code == 200 and "#EXT-X-PLAYLIST-TYPE:EVENT" in event.text
        assert (await ranges_of(http, "rec/x")) == []


async def test_retention_by_size_and_age_and_delete_api(ts_source, tmp_path):
    """A storage_limit two segments short deletes the two oldest; DELETE of a range removes
    its segments and files; expiration empties the archive and its directories."""
    flv, _ts, _source = ts_source
    root = tmp_path / "dvr"
    async with running_server(dvr_config(root), protocols=("http", "rtmp")) as hw:
        service = service_for(hw.server)
        await publish(hw, flv, "rec/size")
        await wait_gone(hw, "rec/size")
        archive = next(iter(service.archives.values()))
        recorded = archive.summaries["rec/size"]
        assert recorded.segments >= 4
        dvr = hw.server.settings.templates[0].dvr
        assert dvr is not None
        rows = await archive.run(archive.db.oldest, "rec/size", 100)
        dvr.storage_limit = recorded.bytes - rows[0].bytes - rows[1].bytes
        await service.sweep_all()
        kept = archive.summaries["rec/size"]
        assert kept.bytes == dvr.storage_limit  # exactly the two oldest went
        assert kept.segments == recorded.segments - 2
        assert kept.ranges[-1][1] == recorded.ranges[-1][1]  # the newest are kept
        files = sorted(p for p in (root / "rec/size").rglob("*.ts"))
        assert len(files) == kept.segments
        assert sum(p.stat().st_size for p in files) == kept.bytes
        async with httpx.AsyncClient(base_url=hw.http_url()) as http:
            newest = (await archive.run(archive.db.oldest, "rec/size", 100))[-1]
            start = -(-newest.start_ms // 1000)  # a second that only the newest overlaps
            assert start < newest.end_ms / 1000
            gone = await http.request(
                "DELETE",
                "/streamer/api/v3/streams/rec/size/dvr/ranges",
                json={"from": start, "duration": 1},
            )
            assert gone.status_code == 204, gone.text
            left = archive.summaries["rec/size"]
            assert left.segments == kept.segments - 1
            assert len(list((root / "rec/size").rglob("*.ts"))) == left.segments
            assert left.ranges[-1][1] < kept.ranges[-1][1]
            scrape = (await http.get("/metrics")).text
            assert f'headwater_dvr_bytes{{name="rec/size"}} {float(left.bytes)}' in scrape
            assert f'headwater_dvr_segments{{name="rec/size"}} {float(left.segments)}' in scrape
            assert 'headwater_dvr_deleted_segments_total{rule="storage_limit"} 2.0' in scrape
            assert 'headwater_dvr_deleted_segments_total{rule="api"} 1.0' in scrape
            # expiration: everything ended more than an hour before "now"
            dvr.expiration = 3600
            service.clock = lambda: time.time() + 7200
            await service.sweep_all()
            assert "rec/size" not in archive.summaries
            assert await ranges_of(http, "rec/size") == []
    assert not (root / "rec").exists()  # empty directories are removed
