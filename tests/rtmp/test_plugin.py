"""headwater-rtmp as a plugin: discovered through its entry point, hooks and settings in place
(that ``headwater_rtmp.wire`` loads no I/O module is checked in tests/core/test_sans_io.py)."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from pydantic import ValidationError

from headwater_rtmp import plugin
from headwater_rtmp.push import RTMPPusher
from headwater_rtmp.settings import RTMPSettings


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
