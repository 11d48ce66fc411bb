"""The plugin is discovered through its entry point and its hooks are thin (that
``headwater_srt.wire`` loads no I/O module is checked in tests/core/test_sans_io.py)."""

from __future__ import annotations

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
    from headwater_srt.publisher import SecretMismatch
    from headwater_srt.wire.crypto import BadSecret

    for error in (Refused, BadSecret, SecretMismatch):
        assert issubclass(error, HandshakeRejected), error
