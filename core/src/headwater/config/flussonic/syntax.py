"""Directives of Flussonic's configuration text: a tree built from the lexer's tokens.

``name arg ...;`` is a directive without a block, ``name arg ... { directives }`` one with
a block. Sans-I/O: :func:`parse_directives` takes text and returns the tree, or raises
:class:`~headwater.config.flussonic.lexer.FlussonicSyntaxError` with line and column.
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.config.flussonic.lexer import FlussonicSyntaxError, Kind, Token, tokenize

MAX_DEPTH = 16
"""Deepest nesting of blocks accepted (Flussonic itself nests two or three levels)."""


@dataclass(slots=True)
class Directive:
    """One directive: its name, its arguments, its block (None without one), its position."""

    name: str
    args: list[Token]
    block: list[Directive] | None
    line: int
    column: int

    @property
    def values(self) -> list[str]:
        """The argument texts."""
        return [a.text for a in self.args]

    def error(self, message: str, token: Token | None = None) -> FlussonicSyntaxError:
        """An error at this directive (or at one of its arguments)."""
        where = token or self
        return FlussonicSyntaxError(message, where.line, where.column, self.name)


def parse_directives(text: str) -> list[Directive]:
    """The directive tree of ``text``."""
    tokens = tokenize(text)
    pos, out = _block(tokens, 0, 0, None)
    if pos < len(tokens):  # a stray '}' at the top level
        tok = tokens[pos]
        raise FlussonicSyntaxError("'}' without a matching '{'", tok.line, tok.column)
    return out


def _block(
    tokens: list[Token], pos: int, depth: int, opener: Directive | None
) -> tuple[int, list[Directive]]:
    out: list[Directive] = []
    n = len(tokens)
    while pos < n:
        tok = tokens[pos]
        if tok.kind is Kind.CLOSE:
            if opener is None:
                return pos, out
            return pos + 1, out
        if tok.kind is not Kind.WORD:
            raise FlussonicSyntaxError(
                f"expected a directive name, found {tok.text!r}", tok.line, tok.column
            )
        if tok.quoted:
            raise FlussonicSyntaxError(
                f"a directive name cannot be quoted ({tok.text!r})", tok.line, tok.column
            )
        directive = Directive(tok.text, [], None, tok.line, tok.column)
        pos += 1
        while pos < n and tokens[pos].kind is Kind.WORD:
            directive.args.append(tokens[pos])
            pos += 1
        if pos >= n:
            raise directive.error("missing ';' at the end of the directive")
        end = tokens[pos]
        if end.kind is Kind.END:
            pos += 1
        elif end.kind is Kind.OPEN:
            if depth + 1 > MAX_DEPTH:
                raise directive.error(f"blocks nest deeper than {MAX_DEPTH} levels")
            pos, directive.block = _block(tokens, pos + 1, depth + 1, directive)
        else:  # '}' right after arguments
            raise FlussonicSyntaxError(
                "missing ';' before '}'", end.line, end.column, directive.name
            )
        out.append(directive)
    if opener is not None:
        raise opener.error("the block is not closed with '}'")
    return pos, out
