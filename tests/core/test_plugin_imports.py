"""First-party plugins use the public API only: ``headwater``, ``headwater.media.*`` and
``headwater.testing``; everything else in the core is private and may change."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    [*ROOT.glob("plugins/*/src/**/*.py"), *ROOT.glob("examples/*/src/**/*.py")],
    key=lambda p: str(p),
)


def allowed(module: str) -> bool:
    if not module.startswith("headwater") or module.split(".")[0] != "headwater":
        return True  # a plugin's own package, or a third-party one
    return module in ("headwater", "headwater.testing") or module.startswith("headwater.media")


def core_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


def test_there_are_plugin_sources() -> None:
    assert len(SOURCES) > 20


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_the_public_api(path: Path) -> None:
    private = [m for m in core_imports(path) if not allowed(m)]
    assert not private, f"{path.relative_to(ROOT)} imports private core modules {private}"
