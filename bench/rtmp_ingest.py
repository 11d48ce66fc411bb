"""Shim: ``bench/rtmp_ingest.py [flags]`` runs ``python -m bench rtmp [flags]``.

Kept while the RTMP server is being optimised against the old command line (same flags:
``--publishers``, ``--mbps``, ``--seconds``, ``--read-interval``, ``--play-interval``);
to be removed once nobody runs it. The scenario itself is :mod:`bench.scenarios.rtmp`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["rtmp", *sys.argv[1:]]))
