"""The benchmark scenarios, by name: each module defines ``SCENARIO`` (see
:class:`bench.scenarios.Scenario`). Imported lazily, so that listing them or running one
does not import every protocol plugin."""

from __future__ import annotations

import argparse
import importlib
from typing import Any, Protocol

NAMES = ("rtmp", "rtsp", "srt", "http_mpegts", "ts_codec", "rtmp_codec", "rtsp_codec",
         "dvr_index", "dvr_write", "rtmp_hls", "hls_windows", "hls_serve", "srt_receive",
         "side_by_side")  # fmt: skip
"""Every scenario."""
IN_ALL = NAMES[:-1]
"""The scenarios ``python -m bench all`` runs, in order (``side_by_side`` runs the ingest
scenarios again at the issue's sizes, so it runs on its own)."""


class Scenario(Protocol):
    """What ``python -m bench`` needs of a scenario."""

    name: str
    summary: str
    all_argv: tuple[str, ...]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the scenario's flags."""

    def run(self, args: argparse.Namespace) -> Any:
        """Measure and print; return the rows (ingest scenarios) or None."""


def load(name: str) -> Scenario:
    """The scenario called ``name`` (KeyError when there is none)."""
    if name not in NAMES:
        raise KeyError(name)
    return importlib.import_module(f"bench.scenarios.{name}").SCENARIO
