"""How a stream reads in the API: its runtime stats beside the parts of its config that
hold no secret (passwords, passphrases and push URLs, which may carry stream keys, are
only in ``GET /config``)."""

from __future__ import annotations

from typing import Any

from headwater.stream import Stream

PUBLIC_CONFIG_FIELDS = ("title", "inputs", "dvr", "disabled")


def stream_view(stream: Stream) -> dict[str, Any]:
    """``describe()`` plus the public config fields (Flussonic's ``stream_get`` shape)."""
    info = stream.describe()
    settings = stream.settings
    if settings is not None:
        config = settings.model_dump(mode="json", exclude_none=True)
        public = {k: config[k] for k in PUBLIC_CONFIG_FIELDS if k in config}
        if not stream.static:
            public["template"] = settings.name
        info = {"name": info.pop("name"), **public, **info}
    return info
