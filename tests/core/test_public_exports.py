"""The public API: ``headwater.__all__`` is exactly this list, and every name imports."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import headwater

EXPORTED = [
    "ByteBudget",
    "ClientTasks",
    "Codec",
    "ConfigError",
    "ConnectionGate",
    "Consumer",
    "DVRSettings",
    "Frame",
    "HandshakeRejected",
    "HeadwaterError",
    "Listener",
    "ListenerSettings",
    "LocalProtocolError",
    "MediaError",
    "MediaKind",
    "PlayBase",
    "PlayRejected",
    "PlayRequest",
    "PlayURL",
    "PluginError",
    "PortRange",
    "ProtocolError",
    "Publication",
    "PublishRejected",
    "PublishRequest",
    "Refusal",
    "Server",
    "ServerSettings",
    "SharedTick",
    "Stream",
    "StreamSettings",
    "Subscription",
    "Track",
    "Verdict",
    "backend_url",
    "check_read_access",
    "check_write_access",
    "emit_event",
    "first_error",
    "hookimpl",
    "name_problem",
    "peer_address",
    "shown",
    "validate_name",
]

PROMISED_TO_PLUGIN_AUTHORS = {
    "hookimpl", "Server", "PublishRequest", "PublishRejected", "Refusal", "ProtocolError",
    "Stream", "Subscription", "Consumer", "Listener", "Frame", "Track", "Codec", "MediaKind",
    "PlayRequest", "PlayRejected", "ByteBudget", "ConnectionGate", "shown",
}  # fmt: skip


def test_all_is_the_tested_list() -> None:
    assert sorted(headwater.__all__) == EXPORTED
    assert set(headwater.__all__) >= PROMISED_TO_PLUGIN_AUTHORS


def test_every_exported_name_imports_and_is_documented() -> None:
    for name in headwater.__all__:
        value = getattr(headwater, name)
        module = importlib.import_module(value.__module__) if hasattr(value, "__module__") else None
        assert module is None or module.__name__.startswith(("headwater", "pluggy")), name
        if isinstance(value, type):
            assert value.__doc__, f"{name} has no docstring"
    namespace: dict[str, object] = {}
    exec("from headwater import *", namespace)
    assert set(headwater.__all__) <= set(namespace)


def test_the_exception_tree() -> None:
    for name in ("ConfigError", "PluginError", "ProtocolError", "PublishRejected", "PlayRejected"):
        assert issubclass(getattr(headwater, name), headwater.HeadwaterError)
    rejected = headwater.PublishRejected(headwater.Refusal.BUSY, "busy now")
    assert (rejected.reason, rejected.http_status, str(rejected)) == ("busy now", 409, "busy now")
    refused = headwater.PlayRejected(headwater.Refusal.NOT_FOUND, "not live")
    assert (refused.refusal, refused.reason, refused.http_status) == ("not_found", "not live", 404)
    assert not isinstance(refused, headwater.PublishRejected)


def test_public_names_load_on_first_use() -> None:
    """``import headwater`` loads no server code; a public name loads its module then."""
    code = (
        "import sys, headwater\n"
        "assert 'headwater.server' not in sys.modules\n"
        "assert 'anyio' not in sys.modules and 'pluggy' not in sys.modules\n"
        "assert headwater.Server.__name__ == 'Server'\n"
        "assert 'headwater.server' in sys.modules\n"
        "try:\n"
        "    headwater.NoSuchName\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert sorted(headwater._EXPORTS) == sorted(headwater.__all__)


def test_the_package_is_typed() -> None:
    assert (Path(headwater.__file__).parent / "py.typed").is_file()


def test_every_media_error_is_a_remote_media_error() -> None:
    """One tree (errors.py): each codec and container error is a MediaError, hence a
    ProtocolError that closes the peer, and a ValueError."""
    from headwater.errors import HandshakeRejected, LocalProtocolError, MediaError
    from headwater.media import aac, avcc, bitreader, h264, h265
    from headwater.media.flv import amf0, tags
    from headwater.media.mpegts import pes, psi

    errors = [
        aac.AACError, avcc.AVCCError, bitreader.BitstreamError, h264.AVCConfigError,
        h265.HEVCConfigError, amf0.AMFError, tags.FlvError, pes.PESError, psi.PSIError,
    ]  # fmt: skip
    for error in errors:
        assert issubclass(error, MediaError) and issubclass(error, ValueError), error
    assert issubclass(MediaError, headwater.ProtocolError)
    for error in (LocalProtocolError, HandshakeRejected):
        assert issubclass(error, headwater.HeadwaterError)
        assert not issubclass(error, headwater.ProtocolError)
    tree = headwater.errors.__doc__ or ""
    for name in ("MediaError", "LocalProtocolError", "HandshakeRejected", "PlayRejected"):
        assert name in tree, f"errors.py's docstring does not show {name} in the tree"
