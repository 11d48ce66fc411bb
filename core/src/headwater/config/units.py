"""Durations and sizes as operators write them: numbers, or short forms like ``3d`` and ``500G``."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator

_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_FORM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]?)[bB]?\s*$")


def _finite(number: float, given: object) -> float:
    if not math.isfinite(number):
        raise ValueError(f"{given!r} is not a finite number")
    return number


def parse_duration(value: object) -> float:
    """Seconds from a number or a string such as ``90``, ``15m``, ``6h``, ``3d``, ``1w``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '3d'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return _finite(float(value), value)
    if isinstance(value, str):
        m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([smhdwSMHDW]?)\s*$", value)
        if m:
            return _finite(float(m.group(1)) * _DURATION_UNITS[m.group(2).lower()], value)
    raise ValueError(
        f"{value!r} is not a duration (use seconds or forms like 90s, 15m, 6h, 3d, 1w)"
    )


def parse_size(value: object) -> int:
    """Bytes from a number or a string such as ``1024``, ``64K``, ``500G``, ``2T``."""
    if isinstance(value, bool):
        raise ValueError("a size is a number of bytes or a string like '500G'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return int(_finite(float(value), value))
    if isinstance(value, str):
        m = _FORM.match(value)
        if m and m.group(2).lower() in _SIZE_UNITS:
            return int(_finite(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()], value))
    raise ValueError(f"{value!r} is not a size (use bytes or forms like 64K, 100M, 500G, 2T)")


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A duration in seconds, accepting ``3d``-style strings."""

Size = Annotated[int, BeforeValidator(parse_size)]
"""A size in bytes, accepting ``500G``-style strings."""
