"""Bad config input of any shape gives a clear error, never another exception type."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater import ConfigError, ServerSettings
from headwater.config import parse_duration, parse_size, validate_document
from headwater.config_backend import parse_body, parse_streams

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    ["listeners", "streams", "templates", "limits", "edit_auth", "config_external", "plugins",
     "data_dir", "stats", "name", "port", "ports", "prefixes", "inputs", "dvr", "password"]
)  # fmt: skip
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=25,
)


@given(st.one_of(SCALARS, st.text(alphabet="0123456789.smhdwSMHDW kKgGtTbB -", max_size=8)))
def test_units_accept_or_refuse_clearly(value: Any) -> None:
    for parse in (parse_duration, parse_size):
        try:
            result = parse(value)
        except ValueError:
            continue
        assert result >= 0 or result != result  # NaN is a float the model may refuse later


@settings(max_examples=300)
@given(st.dictionaries(KEYS, DOCUMENTS, max_size=5))
def test_any_document_validates_or_raises_config_error(document: dict[str, Any]) -> None:
    try:
        assert isinstance(validate_document(document), ServerSettings)
    except ConfigError as exc:
        assert str(exc)
        for line in str(exc).splitlines():
            assert ": " in line, line


@given(st.text(max_size=200) | JSON.map(repr) | JSON.map(str))
def test_backend_answers_parse_or_raise_value_error(text: str) -> None:
    try:
        payload = parse_body(text)
    except ValueError:
        return
    try:
        streams, errors = parse_streams(payload)
    except ValueError:
        return
    assert len(streams) + len(errors) == len(payload["streams"])


def test_deeply_nested_backend_answer_is_a_value_error() -> None:
    for text in ("[" * 100_000, "{'streams': " + "[" * 5000 + "]" * 5000 + "}"):
        with pytest.raises(ValueError):
            parse_streams(parse_body(text))
