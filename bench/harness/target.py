"""What every measured server in the harness shares: a temp directory of its own, and a
context manager that starts it and always stops it and removes that directory."""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self


class TargetProcess:
    """Base of the measured servers (headwater, nginx-rtmp, srt-live-transmit).

    A subclass calls ``super().__init__(prefix)`` for ``self.dir`` and implements
    :meth:`start` and :meth:`stop`; ``with Target(...) as t:`` runs it for one measurement.
    """

    def __init__(self, prefix: str) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.dir = Path(self._tmp.name)

    def start(self) -> None:
        """Start the server and wait until it is ready."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server; safe to call twice."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self._tmp.cleanup()
