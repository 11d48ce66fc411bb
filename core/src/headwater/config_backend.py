"""The config backend (``config_external``): streams defined by another HTTP service.

``GET {base}/streams?host=H`` is polled every ``limits.config_external_interval`` seconds;
its ``{"streams": [...]}`` replaces the previous backend streams (a running stream the
backend stops listing is stopped). Answers may be strict JSON or a Python literal (single
quotes), as Flussonic's example backend sends. When the backend is down, the last good
answer stays in force and the failure is logged and shown in the API.
"""

from __future__ import annotations

import ast
import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from pydantic import ValidationError

from headwater.config.models import Limits, StreamSettings

log = logging.getLogger("headwater.config_backend")


def backend_url(base: str, path: str) -> str:
    """Join a config backend's base URL and a path with exactly one slash between them,
    whatever the base ends with (DESIGN §6); every call to the backend is built here."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def parse_body(text: str) -> Any:
    """Parse a backend answer: JSON, or a Python literal (``{'streams': [...]}``)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # too deep for JSON: the literal says why
        pass
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(f"answer is neither JSON nor a Python literal: {exc}") from exc


def parse_streams(payload: Any) -> tuple[list[StreamSettings], list[str]]:
    """Valid stream settings from a backend answer, and one error line per invalid entry."""
    if not isinstance(payload, dict) or not isinstance(payload.get("streams"), list):
        raise ValueError("answer has no 'streams' list")
    streams: list[StreamSettings] = []
    errors: list[str] = []
    for index, item in enumerate(payload["streams"]):
        try:
            streams.append(StreamSettings.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append(f"streams.{index}.{where}: {first['msg']}")
    return streams, errors


class ConfigBackend:
    """Polls a config backend; owns the streams it lists and the status the API shows.

    ``limits`` gives the current limits (they may change at run time); ``on_change`` is
    called with the previous and the new stream list after each good answer, and is how
    the server keeps its registry in step and stops streams no longer listed.
    """

    def __init__(
        self,
        base: str,
        *,
        limits: Callable[[], Limits],
        on_change: Callable[[list[StreamSettings], list[StreamSettings]], None],
        on_error: Callable[[str, str], None] | None = None,
    ) -> None:
        self.base = base
        self.host = socket.gethostname()
        self.streams: list[StreamSettings] = []
        """The streams of the last good answer."""
        self.status: dict[str, Any] = {"url": base, "ok": None, "last_error": None, "streams": 0}
        """What ``GET /streamer/api/v3/config`` shows under ``config_external``."""
        self._limits = limits
        self._on_change = on_change
        self._on_error = on_error
        """Called with Flussonic's error kind (``network_error``, ``malformed_json``,
        ``invalid_request``) and the message after each failed poll."""

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            await self.poll_once()
            await anyio.sleep(self._limits().config_external_interval)

    async def poll_once(self) -> None:
        """Fetch ``/streams`` once and apply it; on failure keep the last good answer."""
        status = self.status
        url = backend_url(self.base, f"streams?host={quote(self.host)}")
        timeout = self._limits().config_external_timeout
        try:
            with anyio.fail_after(timeout):  # a deadline for the whole answer, not each read
                async with httpx.AsyncClient(timeout=timeout) as client:
                    response = await client.get(url)
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            streams, errors = parse_streams(parse_body(response.text))
        except (httpx.HTTPError, ValueError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                message = f"no complete answer within {timeout:g}s"
            elif isinstance(exc, httpx.HTTPError):
                message = f"{type(exc).__name__}: {exc}"
            else:
                message = str(exc)
            if self._on_error is not None:
                network = isinstance(exc, httpx.HTTPError | TimeoutError)
                malformed = "neither JSON" in message
                kind = (
                    "network_error"
                    if network
                    else "malformed_json"
                    if malformed
                    else ("invalid_request")
                )
                self._on_error(kind, message)
            if status.get("last_error") != message:
                log.warning(
                    "config backend %s failed (%s); keeping the last good answer", url, message
                )
            status.update({"ok": False, "last_error": message, "failed_at": time.time()})
            return
        for line in errors:
            log.warning("config backend: ignoring invalid stream %s", line)
        self.apply(streams)
        status.update(
            {
                "ok": True,
                "last_error": None,
                "streams": len(streams),
                "updated_at": time.time(),
                "errors": errors,
            }
        )

    def apply(self, streams: list[StreamSettings]) -> None:
        """Replace the backend streams and tell the server."""
        old, self.streams = self.streams, streams
        if [s.name for s in old] != [s.name for s in streams]:
            log.info("config backend lists %d streams", len(streams))
        self._on_change(old, streams)
