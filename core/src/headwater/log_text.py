"""Client-supplied text in the log: escaped and cut, so no client can forge or flood a line.

Every string a peer chose (stream names, RTMP app and tcUrl, query arguments, user agents,
SDP fields) goes through :func:`shown` before it reaches a log call. :class:`LogFormatter`
is the safety net under it: whatever reaches a handler has its control characters escaped
and is cut at :data:`MAX_LOG_LINE`, so one record is always one line (the JSON format,
``--log-format json``, escapes them itself and cuts with :func:`cut_message`).
"""

from __future__ import annotations

import logging
import re

MAX_LOG_TEXT = 120
"""Characters of one client-supplied string that :func:`shown` keeps."""
MAX_LOG_LINE = 2000
"""Characters of one log message that :class:`LogFormatter` keeps."""
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
"""The one line format of headwater and of the HTTP server inside it."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with control characters (newline, NUL, ESC, ...) written as ``\\xNN``."""
    return _CONTROL.sub(_escape, text)


def shown(text: object, limit: int = MAX_LOG_TEXT) -> str:
    """``text`` as it may appear in the log: quoted and escaped like ``repr``, at most
    ``limit`` characters of it, with the full length named when it was cut."""
    if isinstance(text, bytes | bytearray | memoryview):
        size = f"{len(text)} bytes"
        text = bytes(text[: limit + 1]).decode("latin-1")
    else:
        text = str(text)
        size = f"{len(text)} characters"
    if len(text) <= limit:
        return escape_controls(repr(text))
    return escape_controls(repr(text[:limit])) + f"... (cut, {size})"


def cut_message(message: str) -> str:
    """``message`` cut at :data:`MAX_LOG_LINE` characters, saying how long it was."""
    if len(message) <= MAX_LOG_LINE:
        return message
    return message[:MAX_LOG_LINE] + f"... (cut, {len(message)} characters)"


class LogFormatter(logging.Formatter):
    """headwater's formatter: :data:`LOG_FORMAT`, control characters escaped, long messages
    cut. A traceback (our own bug) still follows on its own lines."""

    def __init__(self, fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)

    def formatMessage(self, record: logging.LogRecord) -> str:
        """Escape and cut the message, then lay out the line."""
        record.message = escape_controls(cut_message(record.message))
        return super().formatMessage(record)
