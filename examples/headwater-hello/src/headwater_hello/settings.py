"""The plugin's own config section, ``[hello]``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HelloSettings(BaseModel):
    """Settings of ``[hello]``; every field has a default, so the section may be left out."""

    model_config = ConfigDict(extra="forbid")

    greeting: str = "hello"
    """What ``GET /hello`` answers with."""
    max_line: int = Field(default=4096, ge=16)
    """The longest line a client may send, in bytes."""


SECTION = "hello"
"""The name of the section in the config document."""

PROTOCOLS_KEY = "hello_protocols"
"""An extra key of a stream or template: the protocols allowed to publish to it."""
