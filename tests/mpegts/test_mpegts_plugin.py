"""The plugin is discovered and claims its URL schemes (the TS library loading no I/O module
is checked in tests/core/test_sans_io.py)."""

from __future__ import annotations

import importlib.metadata

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
