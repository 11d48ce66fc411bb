"""Handshake rejection reasons (draft-sharabayko-srt §4.3 table "Handshake Rejection Reason
codes"; Haivision/srt ``docs/API/rejection-codes.md``).

On the wire the Handshake Type field of a refusing CONCLUSION carries ``1000 + reason``; the
extended, HTTP-like codes (``SRT_REJX_*``) are ``1000 + code`` themselves, so a 1401
travels as 2401 and the caller's ``srt_getrejectreason`` reads 1401 back.
"""

from __future__ import annotations

from enum import IntEnum

FAILURE_BASE = 1000
"""``URQ_FAILURE_TYPES``: handshake types at and above this value are rejections."""


class RejectReason(IntEnum):
    """Why a listener refused a caller (``SRT_REJ_*`` and ``SRT_REJX_*``)."""

    UNKNOWN = 0
    SYSTEM = 1
    PEER = 2
    RESOURCE = 3
    ROGUE = 4
    BACKLOG = 5
    IPE = 6
    CLOSE = 7
    VERSION = 8
    RDVCOOKIE = 9
    BADSECRET = 10
    UNSECURE = 11
    MESSAGEAPI = 12
    CONGESTION = 13
    FILTER = 14
    GROUP = 15
    TIMEOUT = 16
    CRYPTO = 17
    X_BAD_REQUEST = 1400
    X_UNAUTHORIZED = 1401
    X_OVERLOAD = 1402
    X_FORBIDDEN = 1403
    X_NOTFOUND = 1404
    X_BAD_MODE = 1405
    X_UNACCEPTABLE = 1406
    X_CONFLICT = 1409

    @property
    def handshake_type(self) -> int:
        """The value of the Handshake Type field that carries this rejection."""
        return FAILURE_BASE + int(self)

    @classmethod
    def from_handshake_type(cls, value: int) -> RejectReason | int:
        """Decode a rejecting Handshake Type field (unknown codes come back as ints)."""
        code = value - FAILURE_BASE
        try:
            return cls(code)
        except ValueError:
            return code
