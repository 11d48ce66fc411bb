"""headwater-hls is discovered through its entry point and declares its section and hooks."""

from __future__ import annotations

from headwater.plugins import make_plugin_manager
from headwater_hls.settings import HLSSettings


def test_plugin_is_discovered_with_its_hooks() -> None:
    pm = make_plugin_manager()
    plugin = pm.get_plugin("hls")
    assert plugin is not None
    hooks = {h.name for h in pm.get_hookcallers(plugin)}
    assert {"http_routes", "play_urls", "settings_sections", "stream_started"} <= hooks


def test_settings_defaults_and_units() -> None:
    s = HLSSettings()
    assert (s.segment_duration, s.segment_count, s.hls_idle) == (2.0, 4, 60.0)
    s = HLSSettings.model_validate({"hls_idle": "2m", "max_segment_bytes": "8M"})
    assert (s.hls_idle, s.max_segment_bytes) == (120.0, 8 << 20)
