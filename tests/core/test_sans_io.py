"""Sans-I/O for real: each protocol core and media module, imported alone in a fresh
interpreter, loads no I/O, event-loop or framework module.

The boundary is a directory: every module of ``headwater.media``, ``headwater_rtmp.wire``
and ``headwater_srt.wire`` (plus the RTMP adapter, messages ↔ frames) is checked, so a new
module there is covered without editing this test.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

IO_MODULES = sorted(
    {"anyio", "asyncio", "socket", "ssl", "select", "selectors", "trio", "uvloop"}
    | {"pluggy", "pydantic", "pydantic_settings", "httpx", "starlette", "fastapi", "aiofiles"}
)
"""What a sans-I/O module must not load, directly or through what it imports."""

PACKAGES = ["headwater.media", "headwater_rtmp.wire", "headwater_srt.wire", "headwater_rtsp.wire"]
SINGLE_MODULES = ["headwater.errors", "headwater_rtmp.adapter", "headwater_rtsp.adapter"]


def modules_under(package: str) -> list[str]:
    spec = importlib.util.find_spec(package)
    if spec is None:  # a plugin that is not installed
        return []
    assert spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join([package, *parts]))
    return names


MODULES = [m for p in PACKAGES for m in modules_under(p)] + SINGLE_MODULES

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[2]))))
"""


def test_the_boundary_holds_modules() -> None:
    assert len(MODULES) > 30
    assert "headwater_rtmp.wire.session" in MODULES and "headwater_srt.wire.endpoint" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_imports_no_io_module(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, module, json.dumps(IO_MODULES)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    loaded = json.loads(out)
    assert not loaded, f"importing {module} alone loads {loaded}"
