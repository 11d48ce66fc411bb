"""The plugin is discovered; its settings checks, playlist and URL parsing, sans network."""

from __future__ import annotations

import importlib.metadata
import logging

import pytest

from headwater import ConfigError, Server
from headwater.config.loading import parse_config_text, validate_document
from headwater.plugins import validate_plugin_sections
from headwater_dvr import plugin
from headwater_dvr.api import ranges_body
from headwater_dvr.index import SegmentRow
from headwater_dvr.playback import MAX_WINDOW, BadRequest, archive_playlist, parse_window

T0 = 1_795_000_000_000


def test_entry_point_declared() -> None:
    """``pip install headwater-dvr`` is enough: the entry point names the plugin module."""
    eps = importlib.metadata.entry_points(group="headwater")
    assert any(ep.name == "dvr" and ep.value == "headwater_dvr.plugin" for ep in eps)


def settings_with(dvr: dict) -> dict:
    return {"templates": [{"name": "t", "prefixes": ["t"], "dvr": {"root": "/s", **dvr}}]}


def test_dvr_settings_validate_with_flussonic_names() -> None:
    doc = settings_with(
        {"expiration": "3d", "storage_limit": "500G", "disk_usage_limit": 95, "segment_duration": 6}
    )
    dvr = validate_document(doc).templates[0].dvr
    assert dvr is not None
    assert (dvr.expiration, dvr.storage_limit) == (3 * 86400, 500 << 30)
    assert (dvr.disk_usage_limit, dvr.segment_duration) == (95, 6)


@pytest.mark.parametrize(
    ("dvr", "words"),
    [
        ({"disk_usage_limit": 120}, "templates.0.dvr.disk_usage_limit"),
        ({"segment_duration": 0.2}, "templates.0.dvr.segment_duration"),
        ({"segment_duration": "2m"}, "templates.0.dvr.segment_duration"),
    ],
)
def test_bad_dvr_values_name_the_key(dvr, words) -> None:
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        validate_document(settings_with(dvr))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("dvr /storage 3d 500G;", (3 * 86400, 500 << 30, None)),
        ("dvr /storage 2d 90%;", (2 * 86400, None, 90)),
        ("dvr /storage expiration=12h storage_limit=1T;", (12 * 3600, 1 << 40, None)),
    ],
)
def test_flussonic_text_dvr_lines_are_what_the_plugin_records(line, expected) -> None:
    """Flussonic's ``dvr`` directive maps onto the keys the plugin implements, none refused."""
    text = f"template chats {{ prefix chats; input publish://; {line} }}\n"
    settings = validate_document(parse_config_text(text, ".conf").document)
    validate_plugin_sections(Server(settings).pm, settings)
    dvr = settings.templates[0].dvr
    assert dvr is not None and dvr.root == "/storage"
    assert (dvr.expiration, dvr.storage_limit, dvr.disk_usage_limit) == expected


def test_unsupported_dvr_keys_are_refused_with_a_reason() -> None:
    settings = validate_document(settings_with({"dvr_replicate": True}))
    server = Server(settings)
    with pytest.raises(ConfigError, match=r"templates\.0\.dvr\.dvr_replicate: not supported"):
        validate_plugin_sections(server.pm, settings)


def test_dvr_without_a_recording_plugin_is_a_warning(caplog) -> None:
    settings = validate_document({**settings_with({}), "plugins": {"disabled": ["dvr"]}})
    with caplog.at_level(logging.WARNING):
        validate_plugin_sections(Server(settings).pm, settings)
    assert "no recording plugin is installed" in caplog.text and "'t'" in caplog.text
    caplog.clear()
    settings = validate_document(settings_with({}))
    validate_plugin_sections(Server(settings).pm, settings)
    assert "no recording plugin" not in caplog.text


def test_plugin_hooks_are_thin_and_stats_show_dvr_enabled() -> None:
    settings = validate_document(settings_with({}))
    server = Server(settings)

    class Plain:
        name = "x"
        settings = None

    assert plugin.stream_info(server, Plain()) == {"dvr_enabled": False}
    routes = [getattr(r, "path", "") for r in plugin.http_routes(server)]
    assert "/streamer/api/v3/streams/{name:path}/dvr/ranges" in routes
    assert "/{name:path}/archive-{start}-{duration}.m3u8" in routes


# (what, from, duration, now) -> window in seconds or error words
WINDOWS = [
    ("vod", "1000", "60", 5000, (1000, 1060, False)),
    ("event up to now", "1000", "now", 1500, (1000, 1500.001, True)),
    ("not a number", "abc", "60", 5000, "UTC seconds"),
    ("negative", "-5", "60", 5000, "UTC seconds"),
    ("zero length", "1000", "0", 5000, "duration"),
    ("too long", "1000", str(MAX_WINDOW + 1), 5000, "at most"),
    ("event from the future", "9000", "now", 5000, "future"),
    ("event too long", "1000", "now", 1000 + MAX_WINDOW + 5, "at most"),
]


@pytest.mark.parametrize(
    ("start", "duration", "now", "expected"),
    [c[1:] for c in WINDOWS],
    ids=[c[0] for c in WINDOWS],
)
def test_parse_window(start, duration, now, expected) -> None:
    if isinstance(expected, str):
        with pytest.raises(BadRequest, match=expected) as caught:
            parse_window(start, duration, now)
        assert caught.value.status == 400
        return
    window = parse_window(start, duration, now)
    assert (window.lo_ms / 1000, window.hi_ms / 1000, window.now) == expected


def row(start_s: float, dur_s: float, disc: bool = False) -> SegmentRow:
    return SegmentRow("cam", T0 + int(start_s * 1000), int(dur_s * 1000), 1, "p", 1, disc)


def test_archive_playlist_marks_gaps_and_new_publications() -> None:
    rows = [row(0, 4, True), row(4, 4), row(8, 3.5), row(20, 4, True), row(24, 4, True)]
    text = archive_playlist(rows, 4, event=False, ended=True)
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines and lines[-1] == "#EXT-X-ENDLIST"
    assert text.count("#EXT-X-DISCONTINUITY\n") == 2  # the gap at 20, the republish at 24
    assert [line for line in lines if line.startswith("dvr/")] == [
        f"dvr/{r.start_ms}.ts" for r in rows
    ]
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-18T11:06:40.000Z" in lines
    assert "#EXTINF:3.500," in lines
    event = archive_playlist(rows[:2], 4, event=True, ended=False)
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in event and "#EXT-X-ENDLIST" not in event


def test_ranges_body_rounds_outwards_to_whole_seconds() -> None:
    assert ranges_body([(T0 + 250, T0 + 4100), (T0 + 10_000, T0 + 12_000)]) == {
        "ranges": [
            {"from": T0 // 1000, "duration": 5},
            {"from": T0 // 1000 + 10, "duration": 2},
        ]
    }
