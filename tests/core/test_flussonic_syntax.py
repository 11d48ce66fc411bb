"""Flussonic's config text: lexer, directive parser and mapping, from tables; fuzzed."""

from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.config import validate_document
from headwater.config.flussonic import (
    FlussonicSyntaxError,
    detect_syntax,
    parse_directives,
    parse_flussonic,
    tokenize,
)
from headwater.errors import ConfigError

# -- the lexer -------------------------------------------------------------------------------

TOKENS = [
    ("http 80;", [("http", 1, 1), ("80", 1, 6), (";", 1, 8)]),
    ("a\n  b {}", [("a", 1, 1), ("b", 2, 3), ("{", 2, 5), ("}", 2, 6)]),
    ('p "two words";', [("p", 1, 1), ("two words", 1, 3), (";", 1, 14)]),
    ('p "a\\"b\\\\";', [("p", 1, 1), ('a"b\\', 1, 3), (";", 1, 11)]),
    ("# comment\nx; # tail", [("x", 2, 1), (";", 2, 2)]),
    (
        'push srt://h:1 streamid="#!::r=x,m=publish";',
        [("push", 1, 1), ("srt://h:1", 1, 6), ("streamid=#!::r=x,m=publish", 1, 16), (";", 1, 44)],
    ),
    ("u http://h/p?a=1#frag;", [("u", 1, 1), ("http://h/p?a=1#frag", 1, 3), (";", 1, 22)]),
    ("x\r\n\ty;", [("x", 1, 1), ("y", 2, 2), (";", 2, 3)]),
]


@pytest.mark.parametrize(("text", "expected"), TOKENS)
def test_tokens_and_their_positions(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert [(t.text, t.line, t.column) for t in tokenize(text)] == expected


def test_an_unclosed_string_names_where_it_opened() -> None:
    with pytest.raises(FlussonicSyntaxError) as info:
        tokenize('http 80;\nstream a {\n  password "oops;\n}\n')
    assert (info.value.line, info.value.column) == (3, 12)


# -- the directive tree ----------------------------------------------------------------------


def test_directives_nest() -> None:
    (stream,) = parse_directives("stream a {\n  srt_publish { passphrase x; }\n  push u k=v;\n}")
    assert stream.name == "stream" and stream.values == ["a"]
    assert stream.block is not None
    inner = stream.block
    assert [d.name for d in inner] == ["srt_publish", "push"]
    assert inner[1].values == ["u", "k=v"] and (inner[1].line, inner[1].column) == (3, 3)
    assert inner[0].block is not None and inner[0].block[0].values == ["x"]


SYNTAX_ERRORS = [
    ("http 80", 1, 1, "http", "missing ';'"),
    ("stream a {\n  input publish://\n}", 3, 1, "input", "missing ';' before '}'"),
    ("stream a {\n  input publish://;\n", 1, 1, "stream", "not closed"),
    ("}\n", 1, 1, "", "without a matching"),
    ("http 80;\n;", 2, 1, "", "expected a directive name"),
    ('"http" 80;', 1, 1, "", "cannot be quoted"),
    ("a {" * 17 + "}" * 17, 1, 49, "a", "nest deeper"),
]


MAPPING_ERRORS = [
    ("http abc;", 1, 6, "http", "not a port"),
    ("http 70000;", 1, 6, "http", "at most 65535"),
    ("http;", 1, 1, "http", "expected a port"),
    ("rtmps 1443;", 1, 1, "rtmps", "rtmps needs cert=PATH and key=PATH"),
    ("http 80 x;", 1, 9, "http", "not a port"),
    ("edit_auth admin;", 1, 1, "edit_auth", "expected 2 arguments"),
    ("stream a b { }", 1, 10, "stream", "at most 1 argument"),
    ("srt_publish 9998;", 1, 1, "srt_publish", "expected a '{ ... }' block"),
    ("stream a { prefix x; }", 1, 12, "prefix", "belongs in a template"),
    ("stream a {\n  password x { }\n}", 2, 3, "password", "takes no"),
    ("live c {\n  on_publish /etc/flussonic/publish.lua;\n}", 2, 14, "on_publish", "not Lua"),
    ("stream a { dvr /s 3x; }", 1, 19, "dvr", "neither a depth"),
    ("stream a { push u nokey; }", 1, 19, "push", "expected key=value"),
    ("stream a { publish_enabled maybe; }", 1, 28, "publish_enabled", "not true or false"),
    ("stream a { template nope; }", 1, 21, "template", "no template named 'nope'"),
    ("stream a { srt 1-2; }", 1, 16, "srt", "one port, not a range"),
    ("event_sink s { resend_limit many; }", 1, 29, "resend_limit", "not a whole number"),
]


def error_cases() -> list[tuple[str, int, int, str, str]]:
    """Syntax errors (lexer, parser) and mapping errors (arguments) in one table."""
    return SYNTAX_ERRORS + MAPPING_ERRORS


@pytest.mark.parametrize(("text", "line", "column", "directive", "words"), error_cases())
def test_errors_name_line_column_and_directive(
    text: str, line: int, column: int, directive: str, words: str
) -> None:
    with pytest.raises(FlussonicSyntaxError) as info:
        parse_flussonic(text)
    err = info.value
    assert (err.line, err.column, err.directive) == (line, column, directive)
    assert words in str(err) and str(err).startswith(f"line {line}, column {column}")


# -- the mapping: every config snippet of the publishing and SRT guides, as written ----------

GUIDE = {
    "static stream": (
        "stream published {\n  input publish://;\n}\n",
        {"streams": [{"name": "published", "inputs": [{"url": "publish://"}]}]},
    ),
    "static stream, url form": (
        "stream published {\n  url publish://;\n}\n",
        {"streams": [{"name": "published", "inputs": [{"url": "publish://"}]}]},
    ),
    "legacy publish_enabled": (
        "stream published {\n  publish_enabled;\n}\n",
        {"streams": [{"name": "published", "inputs": [{"url": "publish://"}]}]},
    ),
    "static stream with a password": (
        "stream published {\n  input publish://;\n  password secure;\n}\n",
        {
            "streams": [
                {"name": "published", "inputs": [{"url": "publish://"}], "password": "secure"}
            ]
        },
    ),
    "template": (
        "template chats {\n  prefix chats;\n  input publish://;\n}\n",
        {
            "templates": [
                {"name": "chats", "prefixes": ["chats"], "inputs": [{"url": "publish://"}]}
            ]
        },
    ),
    "legacy live with a password": (
        "live chats {\n  password mypass;\n}\n",
        {
            "templates": [
                {
                    "name": "chats",
                    "prefixes": ["chats"],
                    "inputs": [{"url": "publish://"}],
                    "password": "mypass",
                }
            ]
        },
    ),
    "on_publish handler": (
        "live chats {\n  on_publish http://my-site.example/publish-check;\n}\n",
        {
            "templates": [
                {
                    "name": "chats",
                    "prefixes": ["chats"],
                    "inputs": [{"url": "publish://"}],
                    "on_publish": {"url": "http://my-site.example/publish-check"},
                }
            ]
        },
    ),
    "dvr": (
        "template chats {\n  prefix chats;\n  input publish://;\n  dvr /storage 3d 500G;\n}\n",
        {
            "templates": [
                {
                    "name": "chats",
                    "prefixes": ["chats"],
                    "inputs": [{"url": "publish://"}],
                    "dvr": {"root": "/storage", "expiration": "3d", "storage_limit": "500G"},
                }
            ]
        },
    ),
    "push": (
        "template chats {\n  prefix chats;\n  input publish://;\n"
        "  push rtmp://cdn-server/client43/%s;\n}\n",
        {
            "templates": [
                {
                    "name": "chats",
                    "prefixes": ["chats"],
                    "inputs": [{"url": "publish://"}],
                    "pushes": [{"url": "rtmp://cdn-server/client43/%s"}],
                }
            ]
        },
    ),
    "srt global port": (
        "srt 9998;\nstream mysrt {\n  input publish://;\n}\n",
        {
            "listeners": {"srt": [{"port": 9998}]},
            "streams": [{"name": "mysrt", "inputs": [{"url": "publish://"}]}],
        },
    ),
    "srt publish-only port": (
        "srt_publish {\n  port 9998;\n}\nstream mysrt {\n  input publish://;\n}\n",
        {
            "listeners": {"srt": [{"port": 9998, "mode": "publish"}]},
            "streams": [{"name": "mysrt", "inputs": [{"url": "publish://"}]}],
        },
    ),
    "srt passphrase": (
        "stream published {\n  input publish://;\n"
        "  srt_publish {\n    passphrase at-least-10-chars;\n  }\n}\n",
        {
            "streams": [
                {
                    "name": "published",
                    "inputs": [{"url": "publish://"}],
                    "srt_publish": {"passphrase": "at-least-10-chars"},
                }
            ]
        },
    ),
    "global options": (
        "http 80;\nhttp 127.0.0.1:8080;\nrtmp 1935;\nrtsp 554;\nedit_auth flussonic password;\n"
        "view_auth viewer secret;\nconfig_external http://127.0.0.1:12345/config_backend/;\n",
        {
            "listeners": {
                "http": [{"port": 80}, {"host": "127.0.0.1", "port": 8080}],
                "rtmp": [{"port": 1935}],
                "rtsp": [{"port": 554}],
            },
            "edit_auth": {"login": "flussonic", "password": "password"},
            "view_auth": {"login": "viewer", "password": "secret"},
            "config_external": "http://127.0.0.1:12345/config_backend/",
        },
    ),
}


@pytest.mark.parametrize("case", sorted(GUIDE))
def test_guide_snippets_map_and_validate(case: str) -> None:
    text, expected = GUIDE[case]
    parsed = parse_flussonic(text)
    assert parsed.document == expected
    assert parsed.warnings == []
    validate_document(parsed.document)
    assert detect_syntax(text) == "flussonic"


MAPPED = [
    ("dvr /storage 7d;", {"root": "/storage", "expiration": "7d"}),
    ("dvr /storage 500G;", {"root": "/storage", "storage_limit": "500G"}),
    ("dvr /storage 2d 90%;", {"root": "/storage", "expiration": "2d", "disk_limit": 90}),
    (
        "dvr /storage expiration=3d storage_limit=500G;",
        {"root": "/storage", "expiration": "3d", "storage_limit": "500G"},
    ),
    ("dvr /s 1h copies=2;", {"root": "/s", "expiration": "1h", "copies": 2}),
]


@pytest.mark.parametrize(("line", "dvr"), MAPPED)
def test_dvr_forms(line: str, dvr: dict) -> None:
    parsed = parse_flussonic(f"template t {{ prefix t; input publish://; {line} }}")
    assert parsed.document["templates"][0]["dvr"] == dvr


def test_push_options_and_quoted_values() -> None:
    parsed = parse_flussonic(
        'stream s { input publish://; push srt://h:9998 streamid="#!::r=x,m=publish" '
        "disabled=true retries=5; }"
    )
    assert parsed.document["streams"][0]["pushes"] == [
        {"url": "srt://h:9998", "streamid": "#!::r=x,m=publish", "disabled": True, "retries": 5}
    ]


def test_ports_ranges_and_ipv6() -> None:
    parsed = parse_flussonic(
        "srt 8890 [::1]:8891;\nsrt_publish { port 2345-12344; }\n"
        "rtmps 1443 cert=/etc/tls/c.pem key=/etc/tls/k.pem;\n"
    )
    assert parsed.document["listeners"] == {
        "srt": [
            {"port": 8890},
            {"host": "::1", "port": 8891},
            {"ports": {"first": 2345, "last": 12344}, "mode": "publish"},
        ],
        "rtmps": [{"port": 1443, "cert": "/etc/tls/c.pem", "key": "/etc/tls/k.pem"}],
    }


def test_srt_port_of_a_stream() -> None:
    parsed = parse_flussonic("stream mysrt {\n  input publish://;\n  srt 9998;\n}\n")
    assert parsed.document["listeners"] == {
        "srt": [{"port": 9998, "mode": "publish", "stream": "mysrt"}]
    }
    assert parse_flussonic("template t { prefix t; srt 9998; }").warnings


def test_event_sinks() -> None:
    parsed = parse_flussonic(
        "event_sink hooks {\n  url http://127.0.0.1:9000/events;\n"
        "  only event=stream_opened,source_* media=cam1;\n  except event=source_closed;\n"
        "  throttle_delay 1;\n  resend_limit 500;\n}\n"
        "event_sink file { url jsonlog:///var/log/headwater/events.jsonl; }\n"
    )
    sinks = validate_document(parsed.document).event_sinks
    assert sinks[0].name == "hooks" and sinks[0].only == [
        {"event": ["stream_opened", "source_*"], "media": ["cam1"]}
    ]
    assert sinks[0].except_ == [{"event": ["source_closed"]}] and sinks[0].resend_limit == 500
    assert sinks[1].url == "jsonlog:///var/log/headwater/events.jsonl"


def test_a_stream_takes_a_templates_settings() -> None:
    parsed = parse_flussonic(
        "stream cam1 { template common; password own; }\n"
        "template common { input publish://; password shared; push rtmp://cdn/%s; }\n"
    )
    (stream,) = parsed.document["streams"]
    assert stream["password"] == "own" and stream["pushes"] == [{"url": "rtmp://cdn/%s"}]
    assert stream["inputs"] == [{"url": "publish://"}]


WARNED = [
    ("transcoder vb=1000k;", "'transcoder' in stream s is not implemented"),
    ("input udp://239.0.0.1:1234;", "input udp://239.0.0.1:1234 ignored"),
    ("input publish:// timeout=10;", "options of input publish:// ignored: timeout=10"),
    ("srt_publish { passphrase abcdefghijk; latency 200; }", "'latency' in srt_publish of s"),
]


@pytest.mark.parametrize(("line", "words"), WARNED)
def test_unimplemented_directives_are_warnings_naming_them(line: str, words: str) -> None:
    parsed = parse_flussonic(f"stream s {{\n  input publish://;\n  {line}\n}}\n")
    (warning,) = parsed.warnings
    assert warning.startswith("line 3, column ") and words in warning


def test_global_unknowns_and_https_are_warnings() -> None:
    parsed = parse_flussonic("cluster_key abc;\nhttps 443;\nhttp 80;\n")
    assert len(parsed.warnings) == 2
    assert "line 1, column 1: directive 'cluster_key' (global)" in parsed.warnings[0]
    assert "line 2" in parsed.warnings[1] and "TLS proxy" in parsed.warnings[1]


DETECT = [
    ('config_external = "http://x/"\n', "toml"),
    ("# comment\n[listeners]\n", "toml"),
    ('{"streams": []}', "json"),
    ("# flussonic\nhttp 80;\n", "flussonic"),
    ("stream published {\n  input publish://;\n}\n", "flussonic"),
    ("", "toml"),
]


@pytest.mark.parametrize(("text", "syntax"), DETECT)
def test_syntax_is_chosen_by_content(text: str, syntax: str) -> None:
    assert detect_syntax(text, ".toml") == syntax or (not text and syntax == "toml")
    assert detect_syntax(text, ".txt") == (syntax if text else "toml")


# -- fuzz -----------------------------------------------------------------------------------

ALPHABET = string.ascii_letters + string.digits + ' \t\n{};"#=:/._-%\\'
WORDS = st.sampled_from(
    [
        "stream",
        "template",
        "live",
        "input",
        "publish://",
        "http",
        "80",
        "dvr",
        "/s",
        "3d",
        "500G",
        "push",
        "rtmp://h/%s",
        "password",
        "x",
        "prefix",
        "srt_publish",
        "passphrase",
        "{",
        "}",
        ";",
        "\n",
        '"',
        "#",
        "k=v",
        "on_publish",
        "event_sink",
        "only",
        "event=a",
    ]
)


@given(st.text(ALPHABET, max_size=300))
def test_any_text_parses_or_fails_with_a_position(text: str) -> None:
    _fuzz(text)


@given(st.lists(WORDS, max_size=60).map(" ".join))
def test_directive_soup_parses_or_fails_with_a_position(text: str) -> None:
    _fuzz(text)


def _fuzz(text: str) -> None:
    try:
        parsed = parse_flussonic(text)
    except FlussonicSyntaxError as exc:
        lines = text.split("\n")
        assert 1 <= exc.line <= len(lines) and exc.column >= 1
        return
    with contextlib.suppress(ConfigError):
        validate_document(parsed.document)


NAME = st.from_regex(r"[a-z][a-z0-9_]{0,8}(/[a-z0-9_]{1,6}){0,2}", fullmatch=True)
SECRET = st.text(
    string.ascii_letters + string.digits + ' !#$%&()*+,-./:;<=>?@[]^_{|}~"\\',
    min_size=1,
    max_size=20,
)


def quoted(text: str) -> str:
    """``text`` as a double-quoted argument."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(
    st.dictionaries(NAME, st.tuples(SECRET, st.booleans()), min_size=1, max_size=5),
    st.sampled_from(["\n", " ", "\r\n", "\n\n  "]),
)
def test_streams_written_as_text_read_back_the_same(
    streams: dict[str, tuple[str, bool]], gap: str
) -> None:
    text = "".join(
        f"stream {name} {{{gap}input publish://;{gap}password {quoted(password)};{gap}"
        + (f"push rtmp://cdn/app/%s retries=3;{gap}" if push else "")
        + f"}}{gap}"
        for name, (password, push) in streams.items()
    )
    parsed = parse_flussonic(text)
    assert parsed.warnings == []
    expected = []
    for name, (password, push) in streams.items():
        entry = {"name": name, "inputs": [{"url": "publish://"}], "password": password}
        if push:
            entry["pushes"] = [{"url": "rtmp://cdn/app/%s", "retries": 3}]
        expected.append(entry)
    assert parsed.document == {"streams": expected}
    validate_document(parsed.document)
