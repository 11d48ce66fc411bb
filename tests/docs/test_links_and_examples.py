"""The docs hang together: links lead to files and headings, examples validate, the
specifications index lists every media module."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from docs_markdown import DOCS, ROOT, blocks, links, read, without_fences

import headwater
from headwater.config import validate_document
from headwater.plugins import make_plugin_manager, validate_plugin_sections

OWN_PAGES = [
    "README.md",
    "docs/index.md",
    "docs/configuration.md",
    "docs/plugins.md",
    "docs/hooks.md",
    "docs/push.md",
    "docs/dvr.md",
    "docs/api.md",
    "docs/specifications.md",
    "docs/flussonic.md",
    "docs/metrics.md",
    "docs/events.md",
]
"""Pages kept by this test module (the protocol pages have their own owners)."""

WRITTEN_ELSEWHERE = {"rtmp.md", "srt.md", "srt-many-authors.md", "mpegts.md"}
"""Protocol pages other engineers write; a link to one not written yet is skipped, not
failed. Empty this set once they all exist."""


def not_written_yet(path: Path) -> bool:
    """True for a protocol page that its owner has not written yet."""
    return path.parent == DOCS and path.name in WRITTEN_ELSEWHERE and not path.exists()


def anchors(path: Path) -> set[str]:
    """GitHub-style anchors of the headings of a Markdown file."""
    out = set()
    for heading in re.findall(r"^#{1,6} (.+)$", without_fences(path.read_text("utf-8")), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def test_index_links_every_page_in_docs() -> None:
    linked = {target.split("#")[0] for target in links(read("index.md"))}
    pages = {p.name for p in DOCS.glob("*.md")} - {"index.md"}
    assert not pages - linked, f"docs/index.md does not link {sorted(pages - linked)}"


@pytest.mark.parametrize(
    "target", sorted({t.split("#")[0] for t in links(read("index.md")) if t.endswith(".md")})
)
def test_every_page_linked_from_index_exists(target: str) -> None:
    if not_written_yet(DOCS / target):
        pytest.skip(f"{target} is not written yet by its owner")
    assert (DOCS / target).is_file(), f"docs/index.md links {target}, which does not exist"


@pytest.mark.parametrize("page", OWN_PAGES)
def test_relative_links_lead_to_files_and_headings(page: str) -> None:
    source = ROOT / page
    for target in links(source.read_text("utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # http://, https://, mailto:
        file_part, _, anchor = target.partition("#")
        path = (source.parent / file_part).resolve() if file_part else source
        if not_written_yet(path):
            continue
        assert path.exists(), f"{page}: link to {target}: no such file"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"{page}: link to {target}: no such heading"


@pytest.mark.parametrize("page", [p for p in OWN_PAGES if p != "docs/plugins.md"])
def test_toml_examples_are_valid_configs(page: str) -> None:
    """Every TOML block is a whole config document that validates (plugins included)."""
    for block in blocks((ROOT / page).read_text("utf-8")):
        if block.lang != "toml":
            continue
        settings = validate_document(tomllib.loads(block.text))
        validate_plugin_sections(make_plugin_manager(), settings)


def test_specifications_lists_every_media_module() -> None:
    text = read("specifications.md")
    package = Path(headwater.__file__).parent
    modules = [
        p.relative_to(package.parent).as_posix()
        for p in sorted((package / "media").rglob("*.py"))
        if p.name != "__init__.py"
    ]
    assert modules
    missing = [m for m in modules if f"`{m}`" not in text]
    assert not missing, f"docs/specifications.md does not list {missing}"
