"""Stream names (DESIGN §1): the validation rules and which stream or template accepts a name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater import PublishRejected, Refusal, StreamSettings
from headwater.naming import (
    MAX_NAME_BYTES,
    default_resolve,
    match_name,
    name_problem,
    prefix_matches,
    validate_name,
)

VALID = [
    "published",
    "chats/my/chat-15",
    "a",
    "A-Z_a.z/0-9",
    "cam.1",
    "x" * MAX_NAME_BYTES,
    "a/" * 126 + "b",  # 253 bytes, many segments
    "...",  # three dots is a name, not a relative path segment
    "a/.hidden",
]

INVALID = [
    # name, the words the reason must contain
    ("", "empty"),
    ("x" * (MAX_NAME_BYTES + 1), "255 bytes"),
    ("a/" + "b" * 254, "255 bytes"),
    ("/leading", "starts with '/'"),
    ("trailing/", "empty path segment"),
    ("a//b", "empty path segment"),
    ("..", "'..' path segment"),
    ("a/../b", "'..' path segment"),
    ("../etc/passwd", "'..' path segment"),
    (".", "'.' path segment"),
    ("a/./b", "'.' path segment"),
    ("a b", "characters"),
    ("a?b", "characters"),
    ("a\\b", "characters"),
    ("a\x00b", "characters"),
    ("a\nb", "characters"),
    ("caméra", "characters"),
    ("名前", "characters"),
    ("a:b", "characters"),
    ("a%2Fb", "characters"),
    ("a#b", "characters"),
]


@pytest.mark.parametrize("name", VALID)
def test_valid_names(name: str) -> None:
    assert name_problem(name) is None
    assert validate_name(name) == name


@pytest.mark.parametrize(("name", "words"), INVALID)
def test_invalid_names_are_refused_with_the_reason(name: str, words: str) -> None:
    problem = name_problem(name)
    assert problem is not None and words in problem
    with pytest.raises(PublishRejected) as info:
        validate_name(name)
    assert info.value.refusal is Refusal.BAD_NAME
    assert words in info.value.reason
    assert info.value.http_status == 400


def test_length_counts_bytes_not_characters() -> None:
    # 128 two-byte characters would be 256 bytes; even a rule allowing them must count bytes.
    assert "255 bytes" in (name_problem("é" * 128) or "")


@given(st.text(max_size=300))
def test_any_accepted_name_is_a_safe_relative_path(name: str) -> None:
    if name_problem(name) is None:
        assert name and not name.startswith("/")
        assert len(name.encode()) <= MAX_NAME_BYTES
        assert all(seg not in ("", ".", "..") for seg in name.split("/"))
        assert set(name) <= set(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./"
        )


PREFIXES = [
    # prefix, name, matches
    ("chats", "chats/my/chat-15", True),
    ("chats", "chats/a", True),
    ("chats", "chats", False),  # the prefix itself is not a name below it
    ("chats", "chatsroom/a", False),  # whole components only
    ("chats", "chat/a", False),
    ("chats/my", "chats/my/x", True),
    ("chats/my", "chats/mine/x", False),
    ("/chats/", "chats/x", True),  # surrounding slashes in config are ignored
    ("", "anything/at/all", True),  # an empty prefix accepts every name
]


@pytest.mark.parametrize(("prefix", "name", "expected"), PREFIXES)
def test_prefix_matches_whole_components(prefix: str, name: str, expected: bool) -> None:
    assert prefix_matches(prefix, name) is expected


def _s(name: str, **kw: object) -> StreamSettings:
    return StreamSettings.model_validate({"name": name, "inputs": [{"url": "publish://"}], **kw})


def test_static_before_template_and_first_template_wins() -> None:
    streams = [_s("chats/vip")]
    templates = [
        _s("first", prefixes=["other", "chats"]),
        _s("second", prefixes=["chats"]),
        _s("deeper", prefixes=["chats/my"]),
    ]
    static = match_name("chats/vip", streams, templates)
    assert static is not None and static.static and static.settings.name == "chats/vip"
    assert static.location == "chats/vip"

    dynamic = match_name("chats/my/chat-15", streams, templates)
    assert dynamic is not None and not dynamic.static
    assert dynamic.settings.name == "first"  # first match wins, even over a longer prefix
    assert dynamic.location == "chats"

    assert match_name("nowhere/x", streams, templates) is None
    assert match_name("chats", streams, templates) is None


def test_disabled_entries_are_skipped() -> None:
    streams = [_s("cam", disabled=True)]
    templates = [_s("off", prefixes=["live"], disabled=True), _s("on", prefixes=["live"])]
    assert match_name("cam", streams, templates) is None
    found = match_name("live/a", streams, templates)
    assert found is not None and found.settings.name == "on"


def test_location_strips_slashes_of_the_configured_prefix() -> None:
    found = match_name("live/a", [], [_s("t", prefixes=["/live/"])])
    assert found is not None and found.location == "live"


@pytest.mark.parametrize(
    ("path", "name"), [("/live/cam1", "live/cam1"), ("live/cam1/", "live/cam1"), ("/", "")]
)
def test_default_resolver_trims_slashes(path: str, name: str) -> None:
    assert default_resolve(path) == name
