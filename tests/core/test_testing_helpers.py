"""``headwater.testing``: the helpers plugin authors test with are themselves tested."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.testing import Packet, complete_test_config, make_media, parse_framecrc, read_packets

FRAMECRC = """#software: Lavf61.7.100
#tb 0: 1/1000
#media_type 0: video
#codec_id 0: h264
#tb 1: 1/1000
#media_type 1: audio
0,        -80,          0,       40,     3417, 0x6ad3ad1d
1,          0,          0,       21,      371, 0x9e1b7a3e
0,        -40,        120,       40,      215, 0x3ba355ba, F=0x0
0,          0,         40,       40,      102, 0x11c83a73, F=0x0, S=1,        8
"""


def test_parse_framecrc() -> None:
    packets, header = parse_framecrc(FRAMECRC)
    assert header["tb 0"] == "1/1000" and header["codec_id 0"] == "h264"
    assert packets == [
        Packet(0, -80, 0, 40, 3417, "0x6ad3ad1d", True),
        Packet(1, 0, 0, 21, 371, "0x9e1b7a3e", True),
        Packet(0, -40, 120, 40, 215, "0x3ba355ba", False),
        Packet(0, 0, 40, 40, 102, "0x11c83a73", False),
    ]


def test_complete_test_config() -> None:
    doc = complete_test_config({"limits": {"max_streams": 3}}, protocols=("http", "rtmp"))
    assert doc["listeners"] == {
        "http": [{"host": "127.0.0.1", "port": 0}],
        "rtmp": [{"host": "127.0.0.1", "port": 0}],
    }
    assert [t["name"] for t in doc["templates"]] == ["live"]
    assert complete_test_config({"streams": []}).get("templates") is None


@pytest.mark.e2e
def test_make_media_and_read_packets(tmp_path: Path) -> None:
    clip = make_media(tmp_path / "clip.flv", seconds=1, gop=10)
    packets, header = read_packets(clip, timeout=60)
    assert header["codec_id 0"] == "h264" and header["codec_id 1"] == "aac"
    video = [p for p in packets if p.stream == 0]
    audio = [p for p in packets if p.stream == 1]
    assert len(video) == 25 and [i for i, p in enumerate(video) if p.keyframe] == [0, 10, 20]
    assert 45 <= len(audio) <= 49  # 1 s of 1024-sample AAC frames at 48 kHz
    with pytest.raises(RuntimeError, match="could not read"):
        read_packets(tmp_path / "missing.flv", timeout=60)
