"""The ``dvr`` settings of streams and templates, as the DVR plugin reads them.

The model itself (:class:`headwater.config.models.DVRSettings`, Flussonic's names: ``root``,
``expiration``, ``storage_limit``, ``disk_usage_limit``, ``segment_duration``) lives in the
core so that a ``dvr`` setting validates even without this plugin; here are the checks
only the recorder can make and the way a root path and a stream's settings are found.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from headwater import DVRSettings

if TYPE_CHECKING:
    from headwater import Server, ServerSettings

SUPPORTED = frozenset(DVRSettings.model_fields)
"""The ``dvr`` keys this plugin implements; any other key is refused with a reason."""

SWEEP_INTERVAL = 60.0
"""Seconds between two retention sweeps (a write past ``storage_limit`` triggers one at once)."""


def root_path(server: Server, dvr: DVRSettings) -> Path:
    """The directory ``dvr.root`` names: absolute as given, relative under ``data_dir``."""
    root = Path(dvr.root).expanduser()
    return root if root.is_absolute() else server.data_dir / root


def dvr_for(server: Server, name: str) -> DVRSettings | None:
    """The ``dvr`` settings that apply to stream ``name`` (live or gone), or None."""
    stream = server.streams.get(name)
    if stream is not None and stream.settings is not None and stream.settings.dvr is not None:
        return stream.settings.dvr
    match = server.find_settings(name)
    return match.settings.dvr if match is not None else None


def configured(server: Server) -> list[DVRSettings]:
    """Every ``dvr`` setting of the configured and backend streams and templates."""
    entries = [*server.settings.streams, *server.backend_streams, *server.settings.templates]
    return [e.dvr for e in entries if e.dvr is not None]


def problems(settings: ServerSettings) -> list[str]:
    """``key: problem`` lines for ``dvr`` keys this plugin does not implement."""
    out = []
    for kind in ("streams", "templates"):
        for index, entry in enumerate(getattr(settings, kind)):
            if entry.dvr is None:
                continue
            for key in sorted(entry.dvr.model_extra or {}):
                out.append(
                    f"{kind}.{index}.dvr.{key}: not supported by headwater-dvr "
                    f"(it implements {', '.join(sorted(SUPPORTED))})"
                )
    return out
