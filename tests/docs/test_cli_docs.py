"""The command line and the refusal codes as documented, against the code."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from docs_markdown import read

from headwater.cli import app
from headwater.errors import HTTP_STATUS, Refusal


def commands() -> dict[str, Any]:
    """The typer app's commands (click objects, whichever click typer uses)."""
    return dict(typer.main.get_command(app).commands)


def options(command: str) -> list[list[str]]:
    """The option spellings of a command, ``--help`` left out."""
    params = commands()[command].params
    return [p.opts for p in params if p.param_type_name == "option" and "--help" not in p.opts]


def test_every_command_is_documented() -> None:
    index = read("index.md")
    for name in commands():
        assert f"`headwater {name}" in index, f"docs/index.md does not document {name}"


@pytest.mark.parametrize("command", sorted(commands()))
def test_every_option_is_documented(command: str) -> None:
    index = read("index.md")
    for opts in options(command):
        for opt in opts:
            assert f"`{opt}" in index, f"docs/index.md: `headwater {command}` lacks {opt}"


def test_serve_flags_are_in_the_configuration_page() -> None:
    page = read("configuration.md")
    for opts in options("serve"):
        assert f"`{opts[0]}" in page, f"configuration.md lacks {opts[0]}"


@pytest.mark.parametrize("refusal", list(Refusal))
def test_refusals_and_their_http_status_are_documented(refusal: Refusal) -> None:
    assert f"`{refusal.name}` ({HTTP_STATUS[refusal]})" in read("hooks.md")
