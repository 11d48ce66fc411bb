"""The answer of an ``authorize`` hook implementation."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.errors import Refusal


@dataclass(frozen=True, slots=True)
class Verdict:
    """Allow or deny a publication; an allowing verdict may name a file to record into."""

    allowed: bool
    reason: str = ""
    record_path: str | None = None
    refusal: Refusal = Refusal.UNAUTHORIZED

    @classmethod
    def allow(cls, record_path: str | None = None) -> Verdict:
        """An allowing verdict, optionally with a recording path (``x-record``)."""
        return cls(True, record_path=record_path)

    @classmethod
    def deny(cls, reason: str, refusal: Refusal = Refusal.UNAUTHORIZED) -> Verdict:
        """A denial with a one-sentence reason."""
        return cls(False, reason=reason, refusal=refusal)
