"""RTMP command and data messages (Adobe RTMP 1.0 section 7.1.1-7.1.2, 7.2): AMF0 (type 20/18)
or AMF3 (type 17/15, a format byte then AMF0 with AVM+ switches) values: the command
name, a transaction id, a command object and arguments; ``onStatus`` info objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from headwater.media.flv import amf0
from headwater_rtmp.wire import amf3
from headwater_rtmp.wire.messages import COMMAND_AMF3, DATA_AMF3

STATUS, ERROR, WARNING = "status", "error", "warning"


@dataclass(slots=True)
class Command:
    """A decoded command message: ``name(transaction_id, obj, *args)``."""

    name: str
    transaction_id: float = 0.0
    obj: Any = None
    args: list[Any] = field(default_factory=list)

    def arg(self, index: int, default: Any = None) -> Any:
        """The ``index``-th argument after the command object, or ``default``."""
        return self.args[index] if index < len(self.args) else default


def amf_values(type_id: int, payload: bytes) -> list[Any]:
    """All AMF values of a command or data message; AMF3 variants drop their format byte."""
    if type_id in (COMMAND_AMF3, DATA_AMF3) and payload[:1] == b"\x00":
        payload = payload[1:]
    return amf0.decode(payload, amf3.decode_at)


def parse_command(type_id: int, payload: bytes) -> Command:
    """Decode a command message (type 20 or 17); raises ``AMFError`` (a remote
    ``ProtocolError``) if malformed."""
    try:
        values = amf_values(type_id, payload)
    except amf0.AMFError as exc:
        raise amf0.AMFError(f"malformed RTMP command: {exc}") from exc
    if not values or not isinstance(values[0], str):
        raise amf0.AMFError("malformed RTMP command: it does not start with a command name")
    tid = values[1] if len(values) > 1 and isinstance(values[1], float) else 0.0
    obj = values[2] if len(values) > 2 else None
    return Command(values[0], tid, obj, values[3:])


def encode_command(name: str, transaction_id: float, obj: Any = None, *args: Any) -> bytes:
    """An AMF0 command message payload."""
    return amf0.encode(name, float(transaction_id), obj, *args)


def status(level: str, code: str, description: str, **extra: Any) -> dict[str, Any]:
    """An info object for ``onStatus`` / ``_result`` / ``_error`` (7.2.2)."""
    return {"level": level, "code": code, "description": description, **extra}
