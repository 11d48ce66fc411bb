"""The benchmarks live in ``bench/`` at the repository root, outside any installed package:
put the root on ``sys.path`` so that ``import bench`` finds them."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
