"""The plugin is discovered through its entry point, its hooks are thin, and the wire
layer stays sans-I/O."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import pytest

import headwater_srt
from headwater import PublishRequest, Refusal
from headwater.plugins import make_plugin_manager
from headwater_srt import plugin
from headwater_srt.port_resolver import PORT_RESOLVERS, PortResolver
from headwater_srt.publisher import REJECTIONS

SRC = Path(headwater_srt.__file__).parent


def test_entry_point_and_discovery() -> None:
    (ep,) = [e for e in importlib.metadata.entry_points(group="headwater") if e.name == "srt"]
    assert ep.value == "headwater_srt.plugin"
    pm = make_plugin_manager()
    names = {pm.get_name(p) for p in pm.get_plugins()}
    assert "srt" in names
    hooks = {h.name for h in pm.get_hookcallers(pm.get_plugin("srt"))}
    assert {"listen", "resolve_name", "settings_sections"} <= hooks


SANS_IO = [*sorted((SRC / "wire").glob("*.py"))] + [
    SRC / name for name in ("connection.py", "endpoint.py", "crypto.py", "streamid.py")
]


@pytest.mark.parametrize("path", SANS_IO, ids=lambda p: p.name)
def test_protocol_core_does_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert not imported & {"anyio", "asyncio", "socket", "trio", "httpx", "select"}


def test_every_refusal_maps_to_an_srt_rejection() -> None:
    assert set(REJECTIONS) == set(Refusal)


@pytest.mark.anyio
async def test_resolve_name_hook_only_for_srt_ports_it_owns() -> None:
    class Fixed(PortResolver):
        async def resolve(self, request):  # type: ignore[override]
            return "from_backend"

    assert await plugin.resolve_name(PublishRequest(proto="rtmp", local_port=9)) is None
    assert await plugin.resolve_name(PublishRequest(proto="srt", path="x", local_port=9)) is None
    assert await plugin.resolve_name(PublishRequest(proto="srt", local_port=9)) is None
    PORT_RESOLVERS[9] = Fixed(lambda: None)
    try:
        assert (
            await plugin.resolve_name(PublishRequest(proto="srt", local_port=9)) == "from_backend"
        )
    finally:
        del PORT_RESOLVERS[9]


def test_srt_refusals_are_handshake_rejections() -> None:
    from headwater.errors import HandshakeRejected
    from headwater_srt.caller import Refused
    from headwater_srt.crypto import BadSecret
    from headwater_srt.publisher import SecretMismatch

    for error in (Refused, BadSecret, SecretMismatch):
        assert issubclass(error, HandshakeRejected), error
