"""headwater-rtmp as a plugin: discovered through its entry point, hooks and settings in place,
and the protocol core free of I/O imports."""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from pydantic import ValidationError

import headwater_rtmp
from headwater.media import flv
from headwater_rtmp import plugin
from headwater_rtmp.push import RTMPPusher
from headwater_rtmp.settings import RTMPSettings

SANS_IO = ["wire", "session.py", "client_session.py", "adapter.py", "names.py", "events.py"]


def test_entry_point_is_declared():
    eps = {ep.name: ep.value for ep in entry_points(group="headwater")}
    assert eps.get("rtmp") == "headwater_rtmp.plugin"


def test_hooks_delegate():
    assert plugin.settings_sections() == {"rtmp": RTMPSettings}

    class FakeServer:
        plugin_settings = {"rtmp": RTMPSettings(chunk_size=8192)}

    pusher = plugin.push(FakeServer(), None, "rtmps://cdn/app/name")
    assert isinstance(pusher, RTMPPusher) and pusher.tls and pusher.settings.chunk_size == 8192
    assert plugin.push(FakeServer(), None, "srt://cdn:9000") is None


def test_settings_validate():
    with pytest.raises(ValidationError):
        RTMPSettings(chunk_size=10)
    with pytest.raises(ValidationError):
        RTMPSettings(unknown=1)


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
    "root", [Path(headwater_rtmp.__file__).parent, Path(flv.__file__).parent], ids=["rtmp", "flv"]
)
def test_protocol_core_has_no_io_imports(root):
    files = [
        p
        for p in root.rglob("*.py")
        if root.name == "flv" or p.relative_to(root).parts[0] in SANS_IO
    ]
    assert files
    for path in files:
        assert not _imports(path) & {"anyio", "socket", "asyncio", "ssl", "trio"}, path
