"""headwater-hls is discovered through its entry point and declares its section and hooks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from headwater.plugins import make_plugin_manager
from headwater_hls.settings import HLSSettings


def test_plugin_is_discovered_with_its_hooks() -> None:
    pm = make_plugin_manager()
    plugin = pm.get_plugin("hls")
    assert plugin is not None
    hooks = {h.name for h in pm.get_hookcallers(plugin)}
    assert {"http_routes", "play_urls", "settings_sections", "stream_started"} <= hooks


def test_settings_defaults_and_limits() -> None:
    s = HLSSettings()
    assert (s.segment_duration, s.segment_count, s.hls_idle) == (2.0, 4, 60.0)
    for bad in ({"segment_duration": 0.1}, {"segment_count": 1}, {"hls_idle": 0}, {"x": 1}):
        with pytest.raises(ValidationError):
            HLSSettings.model_validate(bad)
