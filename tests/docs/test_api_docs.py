"""docs/api.md against the HTTP app: every curl example names a real route, every field is
described."""

from __future__ import annotations

import functools
import re

import pytest
from docs_markdown import blocks, read

from headwater import Codec, Frame, Track
from headwater.config import validate_document
from headwater.http.app import build_app
from headwater.server import Server
from headwater.stream import Stream


@functools.cache
def routes() -> set[tuple[str, str]]:
    """(METHOD, path regex) of every route in the OpenAPI schema."""
    settings = validate_document({"templates": [{"name": "live", "prefixes": ["live"]}]})
    schema = build_app(Server(settings)).openapi()
    out = set()
    for path, item in schema["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", ".+", path)
        out |= {(method.upper(), pattern) for method in item}
    return out


def curl_calls() -> list[tuple[str, str]]:
    """(METHOD, path) of every curl command in api.md's shell blocks."""
    calls = []
    for block in blocks(read("api.md")):
        if block.lang != "sh":
            continue
        for command in block.text.replace("\\\n", " ").splitlines():
            if not command.startswith("curl"):
                continue
            method = re.search(r"-X (\w+)", command)
            url = re.search(r"'?https?://[^/\s]+(/[^'\s?]*)", command)
            assert url, command
            calls.append((method.group(1) if method else "GET", url.group(1)))
    return calls


def test_there_are_examples() -> None:
    methods = {m for m, _p in curl_calls()}
    assert {"GET", "PUT", "POST"} <= methods


@pytest.mark.parametrize(("method", "path"), curl_calls())
def test_every_curl_example_names_a_route(method: str, path: str) -> None:
    assert any(m == method and re.fullmatch(p, path) for m, p in routes()), (method, path)


@pytest.mark.parametrize(("method", "pattern"), sorted(routes()))
def test_every_route_has_a_section(method: str, pattern: str) -> None:
    headings = re.findall(r"^## (\w+) (\S+)$", read("api.md"), re.M)
    assert any(m == method and re.fullmatch(pattern, p) for m, p in headings), (method, pattern)


def described_stream() -> dict:
    stream = Stream("live/cam1", static=False, location="live")
    stream.begin({"proto": "rtmp", "ip": "203.0.113.7", "port": 50312})
    video = Track(1, Codec.H264, width=1280, height=720, language="eng")
    audio = Track(2, Codec.AAC, sample_rate=48000, channels=2)
    stream.put(Frame(video, 0, 0, keyframe=True, nalus=(b"\x65abc",)))
    stream.put(Frame(audio, 0, 0, data=b"abc"))
    stream.open_subscription("player")
    return stream.describe()


def test_every_stream_field_is_described() -> None:
    text = read("api.md")
    info = described_stream()
    names = [k for k in info if k != "stats"]
    names += [f"stats.{k}" for k in info["stats"] if k != "media_info"]
    names += [f"stats.media_info.{k}" for k in info["stats"]["media_info"]]
    names += [k for track in info["stats"]["media_info"]["tracks"] for k in track]
    names += [k for c in info["stats"]["consumers"] for k in c]
    names += list(info["stats"]["publisher"])
    missing = sorted({n for n in names if f"`{n}`" not in text})
    assert not missing, f"api.md does not describe {missing}"
