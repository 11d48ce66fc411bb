"""The ``headwater`` command: serve (a subprocess stopped by a signal), plugins, check-config."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from cli_process import HEADWATER, OFF, serve, stop
from core_helpers import installed_plugins

from headwater.cli import parse_listen
from headwater.plugins import BUILTIN_PLUGINS

NO_PLUGINS = {"HEADWATER_PLUGINS__DISABLED": json.dumps(installed_plugins())}
"""Environment running the core alone (a broken plugin next door cannot fail these tests)."""


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HEADWATER, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_and_stops_on_a_signal(tmp_path: Path, sig: int) -> None:
    with serve(tmp_path / "data", env=NO_PLUGINS) as child:
        port = child.http_port()
        live = httpx.get(f"http://127.0.0.1:{port}/streamer/api/v3/monitoring/liveness", timeout=5)
        assert live.status_code == 200 and live.json()["status"] == "ok"
        # the --listen flags replaced the embedded default's listeners
        config = httpx.get(f"http://127.0.0.1:{port}/streamer/api/v3/config", timeout=5).json()
        assert config["listeners"]["rtmp"] == [] and config["data_dir"] == str(tmp_path / "data")
        assert [t["name"] for t in config["templates"]] == ["live"]
        started = time.monotonic()
        assert stop(child, sig) == 0
        assert time.monotonic() - started < 5
        output = child.rest()
    assert "Traceback" not in output
    assert "received SIG" in output


def test_serve_prints_a_line_per_listener(tmp_path: Path) -> None:
    with serve(tmp_path, env=NO_PLUGINS, listen=(*OFF, "http=127.0.0.1:0")) as child:
        child.wait_for(r"headwater is running")
        assert stop(child) == 0
        output = child.rest()
    listening = [line for line in output.splitlines() if line.startswith("http listening on")]
    ports = {int(line.rsplit(":", 1)[1]) for line in listening}
    assert len(listening) == 2 and len(ports) == 2 and 0 not in ports
    assert not any(line.startswith("plugin ") for line in output.splitlines())


def test_serve_with_a_bad_config_fails_with_the_key_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[listeners]\nrtmp = [{ port = 99999 }]\n")
    done = run("serve", "--config", str(bad), "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert "listeners.rtmp.0.port" in done.stderr and "Traceback" not in done.stderr


def test_serve_on_a_busy_port_fails_with_the_reason(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [HEADWATER, "serve", "--data-dir", str(tmp_path), "--listen", f"http=127.0.0.1:{port}"]
            + [f"--listen={item}" for item in OFF],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **NO_PLUGINS},
        )
    assert done.returncode == 1
    assert f"http cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_listen_flag_is_a_usage_error(tmp_path: Path) -> None:
    done = run("serve", "--data-dir", str(tmp_path), "--listen", "rtmp=host:port")
    assert done.returncode == 2
    assert "--listen" in done.stderr and "not a port number" in done.stderr


LISTEN = [
    (["rtmp=1935"], {"rtmp": [{"host": "0.0.0.0", "port": 1935}]}),
    (["rtmp=127.0.0.1:19350"], {"rtmp": [{"host": "127.0.0.1", "port": 19350}]}),
    (["http=[::1]:8080"], {"http": [{"host": "::1", "port": 8080}]}),
    (["srt=off"], {"srt": []}),
    (["SRT=OFF"], {"srt": []}),
    (
        ["rtmp=1935", "rtmp=127.0.0.1:0"],
        {"rtmp": [{"host": "0.0.0.0", "port": 1935}, {"host": "127.0.0.1", "port": 0}]},
    ),
]


@pytest.mark.parametrize(("flags", "listeners"), LISTEN)
def test_parse_listen(flags: list[str], listeners: dict[str, object]) -> None:
    assert parse_listen(flags) == listeners


@pytest.mark.parametrize(
    "flag", ["rtmp", "rtmp:1935", "rtmp=", "rtmp=host:port", "=1935", "rtmp=70000"]
)
def test_parse_listen_refuses_garbage(flag: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_listen([flag])


def test_check_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[listeners]\nrtmp = [{ port = 99999 }]\n[[templates]]\nname = "t"\n'
        'dvr = { root = "/s", expiration = "3x" }\n'
    )
    done = run("check-config", str(bad))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert f"{bad}: listeners.rtmp.0.port: Input should be less than or equal to 65535" in lines
    assert any(line.startswith(f"{bad}: templates.0.dvr.expiration: ") for line in lines)

    good = tmp_path / "good.toml"
    good.write_text('[listeners]\nrtmp = [{ port = 1935 }]\n[limits]\ndynamic_stream_ttl = "1m"\n')
    done = run("check-config", str(good))
    assert done.returncode == 0 and done.stdout.strip() == f"{good}: ok"

    done = run("check-config", str(tmp_path / "missing.toml"))
    assert done.returncode == 1 and "cannot read config file" in done.stderr


def test_plugins_lists_builtins_and_installed(tmp_path: Path) -> None:
    done = run("plugins", "--json")
    assert done.returncode == 0, done.stderr
    infos = {info["name"]: info for info in json.loads(done.stdout)}
    for name in BUILTIN_PLUGINS:
        assert infos[name]["builtin"] is True and infos[name]["hooks"]
    assert infos["headwater.builtin.path_resolver"]["hooks"] == ["resolve_name"]
    for name in installed_plugins():
        assert name in infos and infos[name]["version"] and not infos[name]["builtin"]

    text = run("plugins")
    assert text.returncode == 0
    rows = {line.split()[0]: line for line in text.stdout.splitlines()}
    assert "built-in" in rows["headwater.builtin.password"]
    assert rows["headwater.builtin.password"].rstrip().endswith("authorize")


def test_python_dash_m_headwater() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    for command in ("serve", "plugins", "check-config"):
        assert command in done.stdout
