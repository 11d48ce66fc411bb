"""The plugin is discovered, claims its URL schemes, and the TS library stays sans-I/O."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import pytest

import headwater.media.mpegts as mpegts
from headwater import ConfigError
from headwater_mpegts import plugin
from headwater_mpegts.http_push import HTTPPush
from headwater_mpegts.udp_push import UDPPush, parse_udp_url


def test_entry_point_declared() -> None:
    """``pip install headwater-mpegts`` is enough: the entry point names the plugin module."""
    eps = importlib.metadata.entry_points(group="headwater")
    assert any(ep.value == "headwater_mpegts.plugin" for ep in eps)


def test_push_claims_udp_and_http_only() -> None:
    """udp:// and http(s):// are ours; rtmp:// and srt:// are left to their plugins."""
    assert isinstance(plugin.push(None, None, "udp://239.0.0.1:1234"), UDPPush)
    assert isinstance(plugin.push(None, None, "https://example.org/x/mpegts"), HTTPPush)
    assert plugin.push(None, None, "rtmp://cdn/app/x") is None
    assert plugin.push(None, None, "srt://cdn:9000") is None


def test_udp_url_needs_a_port() -> None:
    """A UDP push without host:port is a configuration error naming the URL."""
    assert parse_udp_url("udp://239.0.0.1:1234") == ("239.0.0.1", 1234)
    with pytest.raises(ConfigError, match="udp://host:port"):
        parse_udp_url("udp://239.0.0.1")


def test_public_api() -> None:
    """The package exports exactly its documented names."""
    assert sorted(mpegts.__all__) == sorted(
        [
            "PACKET_SIZE",
            "SYNC_BYTE",
            "PESError",
            "PSIError",
            "TSReader",
            "TSWriter",
            "TracksChanged",
        ]
    )


def test_wire_modules_import_no_io() -> None:
    """No module of headwater.media.mpegts (nor the SPS parsers) imports anyio or sockets."""
    root = Path(mpegts.__file__).parent
    files = [
        *root.glob("*.py"),
        *(root.parent / n for n in ("bitreader.py", "h264_sps.py", "h265_sps.py")),
    ]
    for path in files:
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {m.split(".")[0] for m in names} & {"anyio", "asyncio", "socket", "trio"}, path
