"""Small readers for the Markdown files under ``docs/``: fenced blocks, sections, links.

The docs tests use them to hold the prose to the code: every hook and setting has its
section, every example parses, every link leads somewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*$", re.M)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block: its language tag, its text and the heading it sits under."""

    lang: str
    text: str
    heading: str
    line: int


def read(name: str) -> str:
    """The text of ``docs/<name>`` (or of a path relative to the repository)."""
    path = DOCS / name if (DOCS / name).exists() else ROOT / name
    return path.read_text("utf-8")


def _without_fences(text: str) -> str:
    """The text with fenced blocks blanked out (same length), so ``#`` comments are not headings."""
    return _FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def blocks(text: str) -> list[Block]:
    """Every fenced block in document order, each with the nearest heading above it."""
    headings = [(m.start(), m.group(2)) for m in _HEADING.finditer(_without_fences(text))]
    out = []
    for m in _FENCE.finditer(text):
        above = [h for pos, h in headings if pos < m.start()]
        line = text.count("\n", 0, m.start()) + 1
        out.append(Block(m.group(1), m.group(2), above[-1] if above else "", line))
    return out


def sections(text: str, level: int) -> dict[str, str]:
    """Heading text → body (up to the next heading of the same or a higher level)."""
    clean = _without_fences(text)
    found = [(m.start(), m.end(), len(m.group(1)), m.group(2)) for m in _HEADING.finditer(clean)]
    out: dict[str, str] = {}
    for i, (_start, end, lvl, title) in enumerate(found):
        if lvl != level:
            continue
        stop = next((s for s, _e, lv, _t in found[i + 1 :] if lv <= level), len(text))
        out[title] = text[end:stop]
    return out


def without_fences(text: str) -> str:
    """The text with fenced blocks blanked out, positions unchanged."""
    return _without_fences(text)


def links(text: str) -> list[str]:
    """Targets of the inline Markdown links outside fenced blocks."""
    return _LINK.findall(_without_fences(text))
