"""Flussonic's configuration text (``flussonic.conf``), read onto headwater's settings.

``tokenize`` (lexer) → ``parse_directives`` (directive tree) → ``parse_flussonic`` (the
config document with warnings and positions). All three are sans-I/O.
"""

from headwater.config.flussonic.detect import detect_syntax
from headwater.config.flussonic.lexer import FlussonicSyntaxError, tokenize
from headwater.config.flussonic.mapping import FlussonicConfig, parse_flussonic
from headwater.config.flussonic.syntax import Directive, parse_directives

__all__ = [
    "Directive",
    "FlussonicConfig",
    "FlussonicSyntaxError",
    "detect_syntax",
    "parse_directives",
    "parse_flussonic",
    "tokenize",
]
