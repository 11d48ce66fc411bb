"""Tokens of Flussonic's configuration text (``/etc/flussonic/flussonic.conf``).

The text is a list of directives: a name, arguments, then ``;`` or a ``{ ... }`` block.
Arguments are bare words (``publish://``, ``3d``, ``key=value``) or double-quoted
strings with backslash escapes; ``key="quoted value"`` is one argument. ``#`` starts a
comment when it begins a token (``srt://h:1?streamid=#!::r=x`` keeps its ``#``).

Sans-I/O: :func:`tokenize` takes text and returns tokens with their line and column
(both from 1), or raises :class:`FlussonicSyntaxError` naming the position.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from headwater.errors import ConfigError


class FlussonicSyntaxError(ConfigError):
    """The text cannot be read; carries the 1-based line and column and the directive."""

    def __init__(self, message: str, line: int, column: int, directive: str = "") -> None:
        where = f"line {line}, column {column}"
        if directive:
            where += f", directive {directive!r}"
        super().__init__(f"{where}: {message}")
        self.message = message
        self.line = line
        self.column = column
        self.directive = directive


class Kind(Enum):
    """What a token is."""

    WORD = "word"
    OPEN = "{"
    CLOSE = "}"
    END = ";"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: kind, text (quotes removed, escapes applied), and where it starts."""

    kind: Kind
    text: str
    line: int
    column: int
    quoted: bool = False


_PUNCT = {"{": Kind.OPEN, "}": Kind.CLOSE, ";": Kind.END}
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
MAX_TEXT = 4 << 20
"""Largest config text read (bytes of characters); a bound on what a PUT body may hold."""


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raise :class:`FlussonicSyntaxError` on an unclosed string."""
    if len(text) > MAX_TEXT:
        raise FlussonicSyntaxError(f"the text is longer than {MAX_TEXT} characters", 1, 1)
    tokens: list[Token] = []
    i, n = 0, len(text)
    line, line_start = 1, 0
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            line_start = i + 1
            i += 1
        elif c in " \t\r\f\v":
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in _PUNCT:
            tokens.append(Token(_PUNCT[c], c, line, i - line_start + 1))
            i += 1
        else:
            col = i - line_start + 1
            start_line = line
            parts: list[str] = []
            quoted = False
            while i < n and text[i] not in " \t\r\n\f\v{};":
                if text[i] == '"':
                    quoted = True
                    value, i, line, line_start = _string(text, i, line, line_start)
                    parts.append(value)
                else:
                    j = i
                    while j < n and text[j] not in ' \t\r\n\f\v{};"':
                        j += 1
                    parts.append(text[i:j])
                    i = j
            tokens.append(Token(Kind.WORD, "".join(parts), start_line, col, quoted))
    return tokens


def _string(text: str, i: int, line: int, line_start: int) -> tuple[str, int, int, int]:
    """Read the quoted string starting at ``text[i] == '"'``; return value and new position."""
    start_line, start_col = line, i - line_start + 1
    out: list[str] = []
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return "".join(out), i + 1, line, line_start
        if c == "\\" and i + 1 < n:
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        if c == "\n":
            line += 1
            line_start = i + 1
        out.append(c)
        i += 1
    raise FlussonicSyntaxError("the quoted string is not closed", start_line, start_col)
