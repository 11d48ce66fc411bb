"""A third-party plugin installed as a package: found through the ``headwater`` entry point."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cli_process import HEADWATER, serve, stop
from core_helpers import core_server, installed_plugins, request

from headwater.plugins import describe_plugins, make_plugin_manager

ROOT = Path(__file__).resolve().parents[2]
DIST = "headwater-hwtestplug"
PLUGIN = "hwtestplug"

PYPROJECT = f"""
[project]
name = "{DIST}"
version = "0.0.7"
dependencies = []

[project.entry-points.headwater]
{PLUGIN} = "headwater_hwtestplug.plugin"

[build-system]
requires = ["hatchling==1.33.0"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["headwater_hwtestplug"]
"""

PLUGIN_MODULE = '''
"""A tiny third-party plugin: one HTTP route and one name resolver."""

from starlette.responses import PlainTextResponse
from starlette.routing import Route

from headwater import hookimpl


async def hello(request):
    streams = request.app.state.server.streams
    return PlainTextResponse(f"hwtestplug sees {len(streams)} streams")


@hookimpl
def http_routes(server):
    return [Route("/hwtestplug/hello", hello)]


@hookimpl
async def resolve_name(request):
    return "live/from-hwtestplug" if request.path == "hwtestplug-alias" else None
'''


def _uv() -> str | None:
    return shutil.which("uv") or next(
        (str(p) for p in [ROOT / ".tools" / "bin" / "uv"] if p.is_file()), None
    )


def _pip(uv: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [uv, "pip", *args[:1], "--python", sys.executable, *args[1:]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


@contextmanager
def installed(
    tmp_path: Path, dist: str, module: str, pyproject: str, source: str
) -> Iterator[None]:
    """Build and install a one-module plugin package; always uninstall it afterwards."""
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed (run `make install`)")
    package = tmp_path / dist
    (package / module).mkdir(parents=True)
    (package / "pyproject.toml").write_text(pyproject)
    (package / module / "__init__.py").write_text('"""Test plugin."""\n')
    (package / module / "plugin.py").write_text(textwrap.dedent(source))
    try:
        done = _pip(uv, "install", "--offline", "--no-deps", str(package))
        if done.returncode != 0:  # the build backend is not cached: allow the index
            done = _pip(uv, "install", "--no-deps", str(package))
        assert done.returncode == 0, done.stderr
        importlib.invalidate_caches()
        yield
    finally:
        _pip(uv, "uninstall", dist)
        for name in [m for m in sys.modules if m.startswith(module)]:
            del sys.modules[name]
        importlib.invalidate_caches()


@pytest.fixture
def third_party_plugin(tmp_path: Path) -> Iterator[str]:
    """The tiny plugin, installed for the duration of the test."""
    with installed(tmp_path, DIST, "headwater_hwtestplug", PYPROJECT, PLUGIN_MODULE):
        yield PLUGIN


BROKEN_PYPROJECT = (
    PYPROJECT.replace(DIST, "headwater-hwbrokenplug")
    .replace(f"{PLUGIN} = ", "hwbroken = ")
    .replace("headwater_hwtestplug", "headwater_hwbrokenplug")
)
BROKEN_MODULE = """
import headwater_hwbrokenplug.no_such_module  # a bug: the plugin cannot be imported
"""


def test_a_plugin_that_cannot_be_imported_fails_start_up_with_its_name(tmp_path: Path) -> None:
    source_module = "headwater_hwbrokenplug"
    with installed(
        tmp_path, "headwater-hwbrokenplug", source_module, BROKEN_PYPROJECT, BROKEN_MODULE
    ):
        assert "hwbroken" in installed_plugins()
        done = subprocess.run(
            [
                HEADWATER,
                "serve",
                "--data-dir",
                str(tmp_path / "data"),
                "--listen",
                "http=127.0.0.1:0",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert "plugin 'hwbroken' (headwater_hwbrokenplug.plugin) failed to load" in done.stderr
        assert "ModuleNotFoundError" in done.stderr and "Traceback" not in done.stderr
        listed = subprocess.run([HEADWATER, "plugins"], capture_output=True, text=True, timeout=60)
        assert listed.returncode == 1 and "'hwbroken'" in listed.stderr
        # disabled, the rest starts
        env = {**os.environ, "HEADWATER_PLUGINS__DISABLED": json.dumps(installed_plugins())}
        with serve(tmp_path / "data2", env=env) as child:
            assert child.http_port() > 0
            assert stop(child) == 0
    assert "hwbroken" not in installed_plugins()


@pytest.mark.anyio
async def test_an_installed_plugin_is_loaded_and_its_hooks_are_called(
    third_party_plugin: str, tmp_path: Path
) -> None:
    assert third_party_plugin in installed_plugins()
    pm = make_plugin_manager(disabled=[p for p in installed_plugins() if p != PLUGIN])
    assert pm.has_plugin(PLUGIN)
    info = {i.name: i for i in describe_plugins(pm)}[PLUGIN]
    assert (info.version, info.hooks, info.builtin) == (
        "0.0.7",
        ["http_routes", "resolve_name"],
        False,
    )

    # in-process: its route answers through the server, its resolver names publications
    async with core_server(keep=[PLUGIN]) as hw:
        async with httpx.AsyncClient(timeout=5) as http:
            reply = await http.get(hw.http_url("hwtestplug/hello"))
        assert (reply.status_code, reply.text) == (200, "hwtestplug sees 0 streams")
        async with hw.server.publish(request("hwtestplug-alias")) as pub:
            assert pub.name == "live/from-hwtestplug"

    # disabled in the config, it is not loaded
    async with core_server(keep=[PLUGIN], disabled_plugins=[PLUGIN]) as hw:
        assert not hw.server.pm.has_plugin(PLUGIN)


def test_the_command_line_sees_an_installed_plugin(third_party_plugin: str, tmp_path: Path) -> None:
    listed = subprocess.run(
        [HEADWATER, "plugins", "--json"], capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    entry = {i["name"]: i for i in json.loads(listed.stdout)}[PLUGIN]
    assert entry["version"] == "0.0.7" and entry["module"] == "headwater_hwtestplug.plugin"

    others = json.dumps([p for p in installed_plugins() if p != PLUGIN])
    with serve(tmp_path / "data", env={"HEADWATER_PLUGINS__DISABLED": others}) as child:
        child.wait_for(rf"^plugin {PLUGIN} 0\.0\.7 \(http_routes, resolve_name\)$")
        port = child.http_port()
        reply = httpx.get(f"http://127.0.0.1:{port}/hwtestplug/hello", timeout=5)
        assert (reply.status_code, reply.text) == (200, "hwtestplug sees 0 streams")
        assert stop(child) == 0
