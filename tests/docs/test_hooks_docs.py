"""docs/hooks.md against headwater.hookspecs and the code that calls the hooks."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from docs_markdown import read, sections

import headwater
from headwater import hookspecs

CORE = Path(headwater.__file__).parent


def hook_names() -> list[str]:
    """Every hook declared in headwater.hookspecs."""
    return sorted(name for name, func in vars(hookspecs).items() if hasattr(func, "headwater_spec"))


def hook_sections() -> dict[str, str]:
    return sections(read("hooks.md"), 2)


def callers() -> dict[str, set[str]]:
    """hook name → the hookcall helpers the core calls it with (from the core's source)."""
    found: dict[str, set[str]] = {}
    pattern = re.compile(r"(call_first|call_all|call_sync_all)(?:_named)?\(\s*[\w.]*hook\.(\w+)")
    direct = re.compile(r"hook\.(\w+)\.get_hookimpls\(\)")
    for path in CORE.rglob("*.py"):
        text = path.read_text("utf-8")
        for helper, hook in pattern.findall(text):
            found.setdefault(hook, set()).add(helper)
        for hook in direct.findall(text):
            found.setdefault(hook, set()).add("direct")
    return found


def test_there_are_hooks() -> None:
    assert {"listen", "resolve_name", "authorize", "record", "push"} <= set(hook_names())


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_has_a_section(hook: str) -> None:
    assert hook in hook_sections(), f"docs/hooks.md has no '## {hook}' section"


def test_no_section_documents_a_hook_that_does_not_exist() -> None:
    identifiers = [t for t in hook_sections() if re.fullmatch(r"[a-z_]+", t)]
    fiction = sorted(set(identifiers) - set(hook_names()))
    assert not fiction, f"docs/hooks.md documents hooks that do not exist: {fiction}"


@pytest.mark.parametrize("hook", hook_names())
def test_section_shows_the_signature_and_names_every_argument(hook: str) -> None:
    body = hook_sections()[hook]
    params = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    shown = re.search(rf"^def {hook}\(.*$", body, re.M)
    assert shown, f"'## {hook}' does not show the signature def {hook}(...)"
    tree = ast.parse(shown.group(0) + ": ...")
    func = tree.body[0]
    assert isinstance(func, ast.FunctionDef)
    assert [a.arg for a in func.args.args] == params, f"'## {hook}': the hook takes {params}"
    for param in params:
        assert f"`{param}`" in body, f"'## {hook}' does not describe the argument `{param}`"


@pytest.mark.parametrize("hook", hook_names())
def test_section_says_how_results_combine_as_the_code_does(hook: str) -> None:
    body = hook_sections()[hook]
    used = callers().get(hook)
    assert used, f"the core never calls the hook {hook}"
    results = re.search(r"\*\*Results:\*\*(.*?)(?:\n\n|\n- \*\*|$)", body, re.S)
    assert results, f"'## {hook}' has no **Results:** line"
    line = " ".join(results.group(1).split())
    if used == {"call_first"}:
        assert line.startswith("first non-None"), f"{hook} is called with call_first: {line}"
    else:
        assert line.startswith("all"), f"{hook} is called with {sorted(used)}: {line}"
    must_be_sync = bool(used & {"call_sync_all", "direct"})
    assert ("Must be synchronous" in line) == must_be_sync, f"{hook}: sync rule: {line}"
    assert ("May be async" in line) == (not must_be_sync), f"{hook}: async rule: {line}"
