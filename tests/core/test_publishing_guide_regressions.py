"""What the publishing guide says and headwater once got wrong, one regression test each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from core_helpers import core_server, request
from typer.testing import CliRunner

from headwater import PublishRejected, Refusal, hookimpl
from headwater.cli import app
from headwater.config import validate_document
from headwater.config.advice import settings_warnings
from headwater.errors import ConfigError


class RecordSpy:
    """Remembers the recording path each publication was given."""

    def __init__(self) -> None:
        self.paths: list[str | None] = []

    @hookimpl
    def record(self, server: Any, stream: Any, settings: Any, path: str | None) -> None:
        self.paths.append(path)


@pytest.mark.anyio
async def test_publish_enabled_true_in_toml_accepts_publishers() -> None:
    config = {"streams": [{"name": "published", "publish_enabled": True}]}
    assert validate_document(config).streams[0].publish_enabled
    async with core_server(config) as hw, hw.server.publish(request("published")) as pub:
        assert pub.name == "published"


def test_publish_enabled_false_beside_a_publish_input_is_an_error() -> None:
    config = {
        "streams": [{"name": "s", "publish_enabled": False, "inputs": [{"url": "publish://"}]}]
    }
    with pytest.raises(ConfigError, match="publish_enabled"):
        validate_document(config)


def test_on_publish_as_a_plain_url_string_validates() -> None:
    settings = validate_document(
        {"templates": [{"name": "c", "prefixes": ["c"], "on_publish": "http://auth/check"}]}
    )
    handler = settings.templates[0].on_publish
    assert handler is not None and handler.url == "http://auth/check" and handler.timeout == 3.0


@pytest.mark.anyio
async def test_python_handler_returning_the_lua_shaped_pair_is_obeyed() -> None:
    spy = RecordSpy()
    config = {
        "templates": [
            {
                "name": "chats",
                "prefixes": ["chats"],
                "inputs": [{"url": "publish://"}],
                "on_publish": "python:publish_handlers:lua_pair",
            }
        ]
    }
    async with core_server(config, extra_plugins=[spy]) as hw:
        async with hw.server.publish(request("chats/a", token="good")):
            pass
        with pytest.raises(PublishRejected) as info:
            async with hw.server.publish(request("chats/a", token="bad")):
                pytest.fail("denied publication accepted")
    assert spy.paths == ["lua/chats/a.flv"]
    assert info.value.refusal is Refusal.FORBIDDEN and info.value.reason == "bad token"


def test_two_templates_with_the_same_prefix_are_an_error(tmp_path: Path) -> None:
    config = tmp_path / "dup.conf"
    config.write_text(
        "template a { prefix chats; input publish://; }\n"
        "template b { prefix chats/; input publish://; }\n"
    )
    result = CliRunner().invoke(app, ["check-config", str(config)])
    assert result.exit_code == 1
    assert "prefix 'chats' is used by both 'a' and 'b'" in result.output


def test_a_prefix_with_other_characters_is_a_warning_not_an_error(tmp_path: Path) -> None:
    settings = validate_document({"templates": [{"name": "t", "prefixes": ["my-chats.v2"]}]})
    (warning,) = settings_warnings(settings)
    assert "'my-chats.v2'" in warning and "'-.'" in warning
    config = tmp_path / "odd.toml"
    config.write_text('[[templates]]\nname = "t"\nprefixes = ["my-chats"]\n')
    result = CliRunner().invoke(app, ["check-config", str(config)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "my-chats" in result.output


@pytest.mark.anyio
async def test_named_by_uses_flussonic_values() -> None:
    config = {
        "streams": [{"name": "static1", "inputs": [{"url": "publish://"}]}],
        "templates": [{"name": "live", "prefixes": ["live"], "inputs": [{"url": "publish://"}]}],
    }
    async with core_server(config) as hw, hw.server.publish(request("live/x")):
        named = {s.name: s.describe()["named_by"] for s in hw.server.streams}
    assert named == {"static1": "config", "live/x": "user"}
