"""Structured logs: one JSON object per line (``headwater serve --log-format json``)."""

from __future__ import annotations

import json
import logging
import time

from headwater.log_text import cut_message


class JsonFormatter(logging.Formatter):
    """Formats a record as ``{"ts", "level", "logger", "message"}`` plus any exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": cut_message(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
