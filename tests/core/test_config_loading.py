"""Configuration (DESIGN §6): units, errors naming the key path, sources and their precedence."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from headwater import ConfigError
from headwater.config import (
    deep_merge,
    load_settings,
    parse_duration,
    parse_size,
    validate_document,
)
from headwater.config.loading import PERSISTED_FILE, default_document

DOCS = Path(__file__).resolve().parents[2] / "docs"

DURATIONS = [
    (90, 90.0),
    (1.5, 1.5),
    ("90", 90.0),
    ("90s", 90.0),
    ("15m", 900.0),
    ("6h", 21600.0),
    ("3d", 259200.0),
    ("1w", 604800.0),
    (" 2D ", 172800.0),
    ("0.5h", 1800.0),
]
SIZES = [
    (1024, 1024),
    ("1024", 1024),
    ("64K", 64 << 10),
    ("100M", 100 << 20),
    ("500G", 500 << 30),
    ("500GB", 500 << 30),
    ("500g", 500 << 30),
    ("2T", 2 << 40),
    ("1.5G", int(1.5 * (1 << 30))),
]


@pytest.mark.parametrize(("value", "seconds"), DURATIONS)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(("value", "size"), SIZES)
def test_sizes(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["3x", "", "d", "-1", -1, True, None, "1 day", [1]])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", ["500X", "", "G", -5, False, None, "5 gigabytes"])
def test_bad_sizes(value: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(value)


def test_units_in_the_model() -> None:
    doc = {
        "templates": [
            {
                "name": "chats",
                "prefixes": ["chats"],
                "inputs": [{"url": "publish://"}],
                "dvr": {"root": "/storage", "expiration": "3d", "storage_limit": "500G"},
            }
        ],
        "limits": {"dynamic_stream_ttl": "2m", "gop_cache_bytes": "8M"},
    }
    settings = validate_document(doc)
    dvr = settings.templates[0].dvr
    assert dvr is not None and dvr.expiration == 3 * 86400 and dvr.storage_limit == 500 << 30
    assert settings.limits.dynamic_stream_ttl == 120 and settings.limits.gop_cache_bytes == 8 << 20


BAD_DOCUMENTS = [
    # document, the error line that must appear (key path first)
    ({"listeners": {"rtmp": [{"port": 99999}]}}, "listeners.rtmp.0.port: "),
    ({"listeners": {"rtmp": [{"port": 1935}, {"port": -1}]}}, "listeners.rtmp.1.port: "),
    ({"listeners": {"srt": [{"host": "127.0.0.1"}]}}, "listeners.srt.0: "),
    (
        {"listeners": {"srt": [{"ports": {"first": 20, "last": 10}}]}},
        "listeners.srt.0.ports: ",
    ),
    ({"limits": {"dynamic_stream_ttl": "3x"}}, "limits.dynamic_stream_ttl: "),
    ({"limits": {"no_such_limit": 1}}, "limits.no_such_limit: "),
    (
        {"templates": [{"name": "t", "dvr": {"root": "/s", "storage_limit": "9Q"}}]},
        "templates.0.dvr.storage_limit: ",
    ),
    (
        {"streams": [{"name": "a"}, {"name": "b", "srt_publish": {"passphrase": "short"}}]},
        "streams.1.srt_publish.passphrase: ",
    ),
    (
        {"streams": [{"name": "a", "srt_publish": {"passphrase": "0123456789", "pbkeylen": 7}}]},
        "streams.0.srt_publish.pbkeylen: ",
    ),
    ({"streams": [{"inputs": []}]}, "streams.0.name: "),
    ({"streams": [{"name": "a"}, {"name": "a"}]}, "name 'a' is used twice"),
    ({"edit_auth": {"login": "admin"}}, "edit_auth.password: "),
    (
        {"streams": [{"name": "a", "on_publish": {"url": "x", "timeout": "soon"}}]},
        "streams.0.on_publish.timeout: ",
    ),
]


@pytest.mark.parametrize(("document", "line"), BAD_DOCUMENTS)
def test_errors_name_the_key_path(document: dict[str, Any], line: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_document(document)
    assert line in str(info.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[listeners]\nrtmp = [{ port = 99999 }]\n[limits]\ndynamic_stream_ttl = "3x"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(bad, use_persisted=False)
    lines = str(info.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "listeners.rtmp.0.port",
        "limits.dynamic_stream_ttl",
    ]


def test_unreadable_or_malformed_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[listeners\n")
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        load_settings(broken)


def test_a_listener_given_as_one_table_becomes_a_list() -> None:
    settings = validate_document({"listeners": {"rtmp": {"port": 1935}}})
    assert [e.port for e in settings.listeners["rtmp"]] == [1935]


def test_read_only_fields_are_ignored() -> None:
    doc = {
        "stats": {"streams": 3},
        "streams": [
            {
                "name": "a",
                "inputs": [{"url": "publish://"}],
                "stats": {"alive": True},
                "named_by": "config",
                "static": True,
                "runtime": {},
                "position": 0,
            }
        ],
    }
    settings = validate_document(doc)
    assert settings.streams[0].name == "a"
    assert "stats" not in settings.streams[0].model_dump()
    assert "stats" not in (settings.model_extra or {})


def test_plugin_sections_are_kept_for_plugins() -> None:
    settings = validate_document({"srt_extra": {"latency": 120}})
    assert settings.plugin_section("srt_extra") == {"latency": 120}
    assert settings.plugin_section("absent") is None


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_precedence_cli_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = _write(
        tmp_path / "h.toml",
        'log_level = "warning"\n[limits]\nmax_streams = 7\ndynamic_stream_ttl = "2m"\n'
        "max_connections = 11\n",
    )
    data = tmp_path / "data"
    settings = load_settings(file, data_dir=data)
    assert (settings.log_level, settings.limits.max_streams) == ("warning", 7)

    monkeypatch.setenv("HEADWATER_LOG_LEVEL", "error")
    monkeypatch.setenv("HEADWATER_LIMITS__MAX_STREAMS", "9")
    settings = load_settings(file, data_dir=data)
    assert settings.log_level == "error"
    assert settings.limits.max_streams == 9
    # the rest of the file's [limits] table still applies
    assert settings.limits.dynamic_stream_ttl == 120 and settings.limits.max_connections == 11

    settings = load_settings(
        file, {"log_level": "debug", "limits": {"max_streams": 3}}, data_dir=data
    )
    assert settings.log_level == "debug" and settings.limits.max_streams == 3
    assert settings.limits.dynamic_stream_ttl == 120
    assert settings.data_dir == str(data)


def test_environment_errors_name_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEADWATER_LIMITS__MAX_STREAMS", "many")
    with pytest.raises(ConfigError, match=r"limits\.max_streams: "):
        load_settings(None, data_dir=tmp_path)


def test_no_file_means_the_embedded_default(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path)
    ports = {p: [e.port for e in entries] for p, entries in settings.listeners.items()}
    assert ports == {"http": [8080], "rtmp": [1935], "rtsp": [8554], "srt": [8890]}
    assert [(t.name, t.prefixes, t.publish_enabled) for t in settings.templates] == [
        ("live", ["live"], True)
    ]
    assert settings.streams == []
    assert default_document()["data_dir"] == "./headwater-data"


def test_persisted_api_changes_apply_over_the_file(tmp_path: Path) -> None:
    file = _write(tmp_path / "h.toml", "[limits]\nmax_streams = 7\nqueue_frames = 64\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / PERSISTED_FILE).write_text(
        json.dumps({"limits": {"max_streams": 70}, "streams": [{"name": "api-made"}]})
    )
    settings = load_settings(file, data_dir=data)
    assert settings.limits.max_streams == 70 and settings.limits.queue_frames == 64
    assert [s.name for s in settings.streams] == ["api-made"]
    assert load_settings(file, data_dir=data, use_persisted=False).limits.max_streams == 7

    (data / PERSISTED_FILE).write_text("{not json")
    with pytest.raises(ConfigError, match=PERSISTED_FILE):
        load_settings(file, data_dir=data)


MERGES = [
    ({"a": 1, "b": {"c": 1, "d": 2}}, {"b": {"c": 5}}, {"a": 1, "b": {"c": 5, "d": 2}}),
    ({"l": [1, 2]}, {"l": [3]}, {"l": [3]}),
    (
        {"streams": [{"name": "a", "password": "x"}, {"name": "b"}]},
        {"streams": [{"name": "a", "takeover": True}, {"name": "c"}]},
        {
            "streams": [
                {"name": "a", "password": "x", "takeover": True},
                {"name": "b"},
                {"name": "c"},
            ]
        },
    ),
    (
        {"streams": [{"name": "a"}, {"name": "b"}]},
        {"streams": [{"name": "a", "remove": True}]},
        {"streams": [{"name": "b"}]},
    ),
    ({}, {"streams": [{"name": "a"}, {"name": "z", "remove": True}]}, {"streams": [{"name": "a"}]}),
]


@pytest.mark.parametrize(("base", "patch", "merged"), MERGES)
def test_deep_merge(base: dict[str, Any], patch: dict[str, Any], merged: dict[str, Any]) -> None:
    before = json.dumps(base)
    assert deep_merge(base, patch) == merged
    assert json.dumps(base) == before  # the base is not modified


PATCH_MERGES = [
    # merging two persisted patches keeps the removal markers for the file they apply to
    (
        {},
        {"streams": [{"name": "a", "remove": True}]},
        {"streams": [{"name": "a", "remove": True}]},
    ),
    (
        {"streams": [{"name": "a", "remove": True}]},
        {"streams": [{"name": "a", "password": "x"}]},
        {"streams": [{"name": "a", "password": "x"}]},
    ),
    (
        {"streams": [{"name": "a", "password": "x"}, {"name": "b"}]},
        {"streams": [{"name": "a", "remove": True}]},
        {"streams": [{"name": "a", "remove": True}, {"name": "b"}]},
    ),
]


@pytest.mark.parametrize(("base", "patch", "merged"), PATCH_MERGES)
def test_deep_merge_of_patches_keeps_removals(
    base: dict[str, Any], patch: dict[str, Any], merged: dict[str, Any]
) -> None:
    assert deep_merge(base, patch, keep_removed=True) == merged
    file = {"streams": [{"name": "a"}, {"name": "z"}]}
    applied = deep_merge(file, deep_merge(base, patch, keep_removed=True))
    assert all(not s.get("remove") for s in applied["streams"])
    assert {"name": "z"} in applied["streams"]


def _docs_default_block() -> dict[str, Any] | None:
    """The TOML block that follows the first heading mentioning the default config, if any."""
    page = DOCS / "configuration.md"
    if not page.is_file():
        return None
    text = page.read_text("utf-8")
    heading = re.search(r"^#+ .*default.*$", text, re.IGNORECASE | re.MULTILINE)
    if heading is None:
        return None
    block = re.search(r"```toml\n(.*?)```", text[heading.end() :], re.DOTALL)
    return tomllib.loads(block.group(1)) if block else None


def test_the_embedded_default_is_what_the_docs_show() -> None:
    shown = _docs_default_block()
    if shown is None:
        pytest.skip("docs/configuration.md has no default-config example yet")
    assert shown == default_document()


def test_a_json_config_file(tmp_path: Path) -> None:
    file = tmp_path / "headwater.json"
    file.write_text(json.dumps({"limits": {"max_streams": 4}, "listeners": {"http": {"port": 0}}}))
    settings = load_settings(file, data_dir=tmp_path)
    assert settings.limits.max_streams == 4 and settings.listeners["http"][0].port == 0
    file.write_text("{")
    with pytest.raises(ConfigError, match=r"headwater\.json"):
        load_settings(file, data_dir=tmp_path)


def test_port_ranges() -> None:
    settings = validate_document(
        {"listeners": {"srt": [{"mode": "publish", "ports": {"first": 2345, "last": 2349}}]}}
    )
    entry = settings.listeners["srt"][0]
    assert entry.ports is not None and list(entry.ports) == [2345, 2346, 2347, 2348, 2349]
    assert len(entry.ports) == 5 and entry.port is None and entry.mode == "publish"
    extra = validate_document({"listeners": {"rtmp": [{"port": 1, "tls_only": True}]}})
    assert extra.listeners["rtmp"][0].model_extra == {"tls_only": True}
    assert extra.listeners["rtmp"][0].address == ("0.0.0.0", 1)


def test_on_publish_waits_three_seconds_by_default() -> None:
    settings = validate_document(
        {"templates": [{"name": "t", "prefixes": ["t"], "on_publish": {"url": "http://x/"}}]}
    )
    on_publish = settings.templates[0].on_publish
    assert on_publish is not None and on_publish.timeout == 3.0
