"""The exception tree of headwater.

::

    HeadwaterError
    ├── Rejected               a client refused, with a Refusal and one-sentence reason
    │   ├── PublishRejected    a publication refused (bad name, unauthorized, busy, ...)
    │   └── PlayRejected       a player refused (bad name, unknown or idle stream)
    ├── ConfigError            settings that do not validate (names the key path)
    ├── PluginError            a plugin failed to load or broke a hook contract
    ├── ProtocolError          a peer sent bytes its protocol does not allow (remote error)
    │   └── MediaError         codec or container bytes that do not parse (headwater.media:
    │                          AAC, AVC/HEVC records, AVCC, bitstreams, AMF, FLV, PES, PSI)
    ├── LocalProtocolError     we misused a protocol state machine (our bug, not the peer's)
    └── HandshakeRejected      a peer's connection refused in its handshake, before any
                               stream is named (SRT: bad secret, unsupported options)

A :class:`ProtocolError` closes that one peer; a :class:`LocalProtocolError` or anything
else escaping a connection handler is our own bug and is logged with a traceback.
"""

from __future__ import annotations

from enum import StrEnum


class HeadwaterError(Exception):
    """Base class of every error headwater raises on purpose."""


class Refusal(StrEnum):
    """Why a publication or a player was refused; each protocol maps it to its own terms.

    RTMP: ``BAD_NAME``/``NOT_FOUND``/``BUSY`` → ``NetStream.Publish.BadName``,
    ``UNAUTHORIZED`` → ``NetStream.Publish.Unauthorized``. HTTP: 400/404/401/403/409/503.
    SRT: handshake rejection (``SRT_REJX_BAD_REQUEST``, ``NOTFOUND``, ``UNAUTHORIZED``,
    ``FORBIDDEN``, ``CONFLICT``, ``OVERLOAD``...).
    """

    BAD_NAME = "bad_name"
    """The name breaks the naming rules (characters, segments, length)."""
    NOT_FOUND = "not_found"
    """No stream or template accepts publishing under this name (play: no live stream)."""
    UNAUTHORIZED = "unauthorized"
    """Missing or wrong password, or an on_publish handler said no."""
    FORBIDDEN = "forbidden"
    """Authorized callers only, and this one was explicitly denied (e.g. by IP)."""
    BUSY = "busy"
    """The name is live with another publisher."""
    LIMIT = "limit"
    """A configured limit (streams, connections) is reached."""


HTTP_STATUS = {
    Refusal.BAD_NAME: 400,
    Refusal.NOT_FOUND: 404,
    Refusal.UNAUTHORIZED: 401,
    Refusal.FORBIDDEN: 403,
    Refusal.BUSY: 409,
    Refusal.LIMIT: 503,
}
"""How a refusal reads as an HTTP status code."""


class Rejected(HeadwaterError):
    """A client was refused; ``reason`` is one human sentence for the client and log."""

    def __init__(self, refusal: Refusal, reason: str) -> None:
        super().__init__(reason)
        self.refusal = refusal
        self.reason = reason

    @property
    def http_status(self) -> int:
        """The HTTP status code for this refusal."""
        return HTTP_STATUS[self.refusal]


class PublishRejected(Rejected):
    """A publication was refused (raised by ``server.publish``)."""


class PlayRejected(Rejected):
    """A player was refused (raised by ``server.playable`` and ``server.play``)."""


class ConfigError(HeadwaterError):
    """Settings do not validate; the message names each offending key path."""


class PluginError(HeadwaterError):
    """A plugin failed to load or broke a hook's contract; the message names the plugin."""


class ProtocolError(HeadwaterError):
    """A peer sent bytes its protocol does not allow; that peer is closed and logged."""


class MediaError(ProtocolError, ValueError):
    """Codec or container bytes that do not parse; every error of ``headwater.media`` is one.

    It is a remote error (the bytes came from a peer) and a ``ValueError``.
    """


class LocalProtocolError(HeadwaterError):
    """Our own code asked a protocol state machine for something its state does not allow
    (e.g. accepting a publish on a stream id that was never requested): a bug, not a peer's
    fault."""


class HandshakeRejected(HeadwaterError):
    """A peer's connection is refused during its handshake, before any stream is named (a
    secret that does not match, options we do not support); the protocol plugin answers
    in its own terms (SRT: a handshake rejection code)."""
