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
from headwater_srt.port_resolver import PortResolver
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

    class PortRange:
        """An SRT listener that names port 9 by asking the backend."""

        def resolver_for(self, port: int) -> PortResolver | None:
            return Fixed(lambda: None) if port == 9 else None

    class FakeServer:
        class listeners:
            @staticmethod
            def of(proto: str) -> list[object]:
                return [object(), PortRange()] if proto == "srt" else []

    async def resolve(**kw: object) -> str | None:
        return await plugin.resolve_name(FakeServer(), PublishRequest(**kw))  # type: ignore[arg-type]

    assert await resolve(proto="rtmp", local_port=9) is None
    assert await resolve(proto="srt", path="x", local_port=9) is None
    assert await resolve(proto="srt", local_port=10) is None
    assert await resolve(proto="srt", local_port=9) == "from_backend"


def test_srt_refusals_are_handshake_rejections() -> None:
    from headwater.errors import HandshakeRejected
    from headwater_srt.caller import Refused
    from headwater_srt.publisher import SecretMismatch
    from headwater_srt.wire.crypto import BadSecret

    for error in (Refused, BadSecret, SecretMismatch):
        assert issubclass(error, HandshakeRejected), error


def test_a_caller_is_decided_through_the_callables_it_was_given() -> None:
    """Caller knows no socket: the port passes in what accept/reject/check_secret mean."""
    from types import SimpleNamespace

    from headwater_srt.caller import Caller
    from headwater_srt.wire.rejection import RejectReason

    calls: list[tuple[str, object]] = []
    request = SimpleNamespace(stream_id="live/cam", peer=("10.0.0.1", 9), encrypted=False)
    caller = Caller(
        request,  # type: ignore[arg-type]
        2345,
        accept=lambda c, secret: calls.append(("accept", secret)) or "session",  # type: ignore[arg-type,return-value]
        reject=lambda c, reason: calls.append(("reject", reason)),
        check_secret=lambda req, secret: RejectReason.BADSECRET if secret else None,
    )
    assert (caller.local_port, caller.stream_id, caller.peer) == (2345, "live/cam", ("10.0.0.1", 9))
    assert caller.check_secret("wrong one") is RejectReason.BADSECRET
    assert caller.accept(None) == "session"
    caller.reject(RejectReason.PEER)
    assert calls == [("accept", None), ("reject", RejectReason.PEER)]
