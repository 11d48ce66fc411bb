"""The example plugin that docs/plugins.md walks through is a valid, working plugin."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib

import pytest
from docs_markdown import ROOT, blocks, read

from headwater import ConfigError, hookspecs
from headwater.config import validate_document
from headwater.plugins import ENTRY_POINT_GROUP, make_plugin_manager, validate_plugin_sections

EXAMPLE = ROOT / "examples" / "headwater-hello"


def entry_points() -> dict[str, str]:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text("utf-8"))["project"]
    return project["entry-points"][ENTRY_POINT_GROUP]


def test_the_entry_point_is_in_the_headwater_group() -> None:
    assert entry_points() == {"hello": "headwater_hello.plugin"}


def test_the_plugin_module_registers_and_its_hooks_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    module = importlib.import_module(entry_points()["hello"])
    pm = make_plugin_manager(extra=[module], load_entry_points=False)
    hooks = {caller.name for caller in pm.get_hookcallers(module) or []}
    specs = {name for name, f in vars(hookspecs).items() if hasattr(f, "headwater_spec")}
    assert hooks and hooks <= specs
    for hook in hooks:  # every hook the example implements is shown in the guide
        assert f"`{hook}`" in read("plugins.md"), f"plugins.md does not mention `{hook}`"


def test_the_files_the_guide_shows_exist() -> None:
    guide = read("plugins.md")
    for path in sorted(
        p for p in EXAMPLE.rglob("*") if p.is_file() and "__pycache__" not in str(p)
    ):
        rel = path.relative_to(EXAMPLE).as_posix()
        if rel.endswith((".py", ".toml")):
            assert rel.rsplit("/", 1)[-1] in guide, f"plugins.md does not show {rel}"


def test_the_examples_own_tests_pass(tmp_path) -> None:
    """Run examples/headwater-hello/tests as its author would, with the plugin on the path."""
    env = dict(os.environ, PYTHONPATH=str(EXAMPLE / "src"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_code_shown_in_the_guide_is_the_examples_code() -> None:
    """A block opening with ``# <path>`` must be a verbatim excerpt of that example file."""
    shown = 0
    for block in blocks(read("plugins.md")):
        first, _, rest = block.text.partition("\n")
        if block.lang in ("python", "toml") and first.startswith("# "):
            path = EXAMPLE / first[2:].strip()
            if not path.is_file():
                continue
            source = path.read_text("utf-8")
            assert rest.strip("\n") in source, (
                f"plugins.md:{block.line}: not the code of {path.name}"
            )
            shown += 1
    assert shown >= 7


def test_config_shown_in_the_guide_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    module = importlib.import_module(entry_points()["hello"])
    pm = make_plugin_manager(extra=[module], load_entry_points=False)
    checked = 0
    for block in blocks(read("plugins.md")):
        if block.lang == "toml" and not block.text.startswith("# "):
            settings = validate_document(tomllib.loads(block.text))
            validate_plugin_sections(pm, settings)
            checked += 1
    assert checked >= 2
    bad = validate_document({"hello": {"max_line": 8}})
    with pytest.raises(
        ConfigError, match=r"hello\.max_line: Input should be greater than or equal to 16"
    ):
        validate_plugin_sections(pm, bad)
