"""Which HLS resource a request path names: the same paths reach the same streams and
files as the Starlette routes (``/{name:path}/...``, ``tracks-{selection}``) they replace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.routing import compile_path

from headwater_hls.hls_path import Resource, parse_hls_path

R = Resource


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/live/cam/index.m3u8", ("live/cam", None, R.MASTER, None)),
        ("/live/cam/mono.m3u8", ("live/cam", None, R.MEDIA, None)),
        ("/live/cam/video.m3u8", ("live/cam", None, R.MEDIA, None)),
        ("/live/cam/mono-17959464001.ts", ("live/cam", None, R.SEGMENT, 17959464001)),
        ("/cam/tracks-v1a1/mono-3.ts", ("cam", "v1a1", R.SEGMENT, 3)),
        ("/cam/tracks-a2/index.m3u8", ("cam", "a2", R.MASTER, None)),
        ("/a/b/c/index.ll.m3u8", ("a/b/c", None, R.LL_MASTER, None)),
        ("/cam/tracks-v1/mono.ll.m3u8", ("cam", "v1", R.LL_MEDIA, None)),
        ("/cam/ll-init-2.mp4", ("cam", None, R.LL_INIT, 2)),
        ("/cam/ll-part-40.m4s", ("cam", None, R.LL_PART, 40)),
        ("/cam/ll-7.m4s", ("cam", None, R.LL_SEGMENT, 7)),
        # the edges of ``{name:path}`` and ``tracks-{selection}``
        ("/tracks-v1/index.m3u8", ("tracks-v1", None, R.MASTER, None)),
        ("//tracks-v1/index.m3u8", ("", "v1", R.MASTER, None)),
        ("/cam/tracks-/index.m3u8", ("cam/tracks-", None, R.MASTER, None)),
        ("//index.m3u8", ("", None, R.MASTER, None)),
        ("/a//b/mono.m3u8", ("a//b", None, R.MEDIA, None)),
        ("///cam/mono.m3u8", ("cam", None, R.MEDIA, None)),
    ],
)
def test_hls_paths(path: str, expected: tuple) -> None:
    assert tuple(parse_hls_path(path)) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/index.m3u8",  # no stream name
        "/cam/index-1700000000-60.m3u8",  # DVR's
        "/cam/archive-1700000000-60.ts",  # DVR's
        "/cam/dvr/1700000000.ts",  # DVR's
        "/cam/mono-x.ts",
        "/cam/mono-1.ts/",
        "/cam/mpegts",
        "/cam/embed.html",
        "/cam/ll-part-.m4s",
        "/cam/mono-1.tsx",
        "/cam/INDEX.M3U8",
    ],
)
def test_other_paths_are_not_hls(path: str) -> None:
    assert parse_hls_path(path) is None


TEMPLATES = {
    "index.m3u8": R.MASTER,
    "mono.m3u8": R.MEDIA,
    "video.m3u8": R.MEDIA,
    "mono-{n:int}.ts": R.SEGMENT,
    "index.ll.m3u8": R.LL_MASTER,
    "mono.ll.m3u8": R.LL_MEDIA,
    "ll-init-{n:int}.mp4": R.LL_INIT,
    "ll-part-{n:int}.m4s": R.LL_PART,
    "ll-{n:int}.m4s": R.LL_SEGMENT,
}
OLD_ROUTES = [
    (compile_path(base + "/" + file)[0], resource)
    for base in ("/{name:path}/tracks-{selection}", "/{name:path}")
    for file, resource in TEMPLATES.items()
]


def old_routes(path: str) -> tuple | None:
    """What the Starlette routes the parser replaces made of ``path``."""
    for regex, resource in OLD_ROUTES:
        found = regex.match(path)
        if found:
            params = found.groupdict()
            number = int(params["n"]) if "n" in params else None
            name = params["name"].strip("/")
            return name, params.get("selection"), resource, number
    return None


@given(
    st.lists(st.sampled_from(["a", "live", "", "tracks-v1", "tracks-", "x.ts"]), max_size=4),
    st.sampled_from([*TEMPLATES, "mono-12.ts", "ll-3.m4s", "ll-part-9.m4s", "other.m3u8"]),
)
def test_the_parser_agrees_with_the_routes_it_replaces(folders: list[str], file: str) -> None:
    file = file.replace("{n:int}", "5")
    path = "/" + "/".join([*folders, file])
    parsed = parse_hls_path(path)
    assert (tuple(parsed) if parsed else None) == old_routes(path)
