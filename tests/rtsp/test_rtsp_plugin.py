"""headwater-rtsp as a plugin: discovered through its entry point, hooks and settings in
place, the protocol core and the RTP/SDP media code free of I/O imports."""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from pydantic import ValidationError

import headwater_rtsp
from headwater.config.loading import validate_document
from headwater.media import rtp, sdp
from headwater_rtsp import plugin
from headwater_rtsp.server import RTSPListener
from headwater_rtsp.settings import RTSPSettings
from headwater_rtsp.wire.names import split_url

SANS_IO = ["wire", "adapter.py", "settings.py"]


def test_entry_point_is_declared():
    eps = {ep.name: ep.value for ep in entry_points(group="headwater")}
    assert eps.get("rtsp") == "headwater_rtsp.plugin"


def test_hooks_delegate():
    assert plugin.settings_sections() == {"rtsp": RTSPSettings}
    doc = {
        "listeners": {
            "rtsp": [{"port": 8554}, {"port": 9554, "rtp_port": 9000, "rtcp_port": 9001}]
        },
        "rtsp": {"auth": "digest", "rtp_port": 7000, "rtcp_port": 7001},
    }

    class FakeServer:
        settings = validate_document(doc)
        plugin_settings = {"rtsp": RTSPSettings(**doc["rtsp"])}

    listeners = plugin.listen(FakeServer())
    assert [type(x) for x in listeners] == [RTSPListener, RTSPListener]
    assert listeners[0].settings.auth == "digest" and listeners[0].auth.digest
    assert listeners[0]._udp_ports(8554) == (7000, 7001)
    assert listeners[1]._udp_ports(9554) == (9000, 9001)
    assert listeners[0]._udp_ports(0) == (0, 0)  # tests: an ephemeral pair


@pytest.mark.parametrize(
    "section",
    [
        {"auth": "ntlm"},
        {"rtp_port": 0, "rtcp_port": 8001},
        {"rtp_port": 8000, "rtcp_port": 8000},
        {"read_timeout": 0},
        {"unknown": 1},
    ],
)
def test_settings_refuse_what_they_cannot_do(section):
    with pytest.raises(ValidationError):
        RTSPSettings(**section)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://h:8554/chats/my/chat-15", ("chats/my/chat-15", {}, None)),
        ("rtsp://h/live/cam1/trackID=1", ("live/cam1", {}, 1)),
        ("rtsp://h/live/cam1/streamid=0?password=x", ("live/cam1", {"password": "x"}, 0)),
        ("rtsp://u:p@h/live/cam1/track2/", ("live/cam1", {}, 2)),
        ("rtsp://h/live/a%20b", ("live/a b", {}, None)),
        ("rtsp://h/", ("", {}, None)),
    ],
)
def test_names_from_urls(url, expected):
    assert split_url(url) == expected


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "files",
    [
        [
            p
            for p in Path(headwater_rtsp.__file__).parent.rglob("*.py")
            if p.relative_to(Path(headwater_rtsp.__file__).parent).parts[0] in SANS_IO
        ],
        [*Path(rtp.__file__).parent.rglob("*.py"), Path(sdp.__file__)],
    ],
    ids=["rtsp", "rtp-sdp"],
)
def test_protocol_core_has_no_io_imports(files):
    assert len(files) >= 5
    for path in files:
        assert not _imports(path) & {"anyio", "socket", "asyncio", "ssl", "trio"}, path
