"""Regressions in duration and size parsing found by the config fuzz test."""

from __future__ import annotations

import pytest

from headwater.config.units import parse_duration, parse_size


@pytest.mark.parametrize("parse", [parse_duration, parse_size])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), "9" * 400])
def test_non_finite_numbers_are_refused_not_crashing(parse, value) -> None:
    with pytest.raises(ValueError, match=r"finite|negative"):
        parse(value)
