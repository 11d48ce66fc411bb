"""How bound addresses are announced: one line per address, port ranges folded."""

from __future__ import annotations

import pytest

from headwater.listeners import describe_addresses

CASES = [
    ([], []),
    ([("127.0.0.1", 1935)], ["127.0.0.1:1935"]),
    (
        [("0.0.0.0", 2347), ("0.0.0.0", 2345), ("0.0.0.0", 2346)],
        ["0.0.0.0:2345-2347 (3 ports)"],
    ),
    ([("0.0.0.0", 10), ("0.0.0.0", 12)], ["0.0.0.0:10", "0.0.0.0:12"]),
    ([("0.0.0.0", 10), ("::", 11)], ["0.0.0.0:10", ":::11"]),
    ([("0.0.0.0", p) for p in range(2345, 12345)], ["0.0.0.0:2345-12344 (10000 ports)"]),
]


@pytest.mark.parametrize(("addresses", "expected"), CASES)
def test_describe_addresses(addresses: list[tuple[str, int]], expected: list[str]) -> None:
    assert describe_addresses(addresses) == expected
