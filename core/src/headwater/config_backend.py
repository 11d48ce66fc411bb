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
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio
import httpx
from pydantic import ValidationError

from headwater.config.models import StreamSettings
from headwater.telemetry import backend_failed

if TYPE_CHECKING:
    from headwater.server import Server

log = logging.getLogger("headwater.config_backend")


def backend_url(base: str, path: str) -> str:
    """Join base and path with exactly one slash, whatever the base ends with."""
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
    """Polls a config backend and keeps the server's backend streams in step with it."""

    def __init__(self, server: Server, base: str) -> None:
        self.server = server
        self.base = base
        self.host = socket.gethostname()

    async def run(self) -> None:
        """Poll until cancelled."""
        status = self.server.backend_status
        status.clear()
        status.update({"url": self.base, "ok": None, "last_error": None, "streams": 0})
        while True:
            await self.poll_once()
            await anyio.sleep(self.server.settings.limits.config_external_interval)

    async def poll_once(self) -> None:
        """Fetch ``/streams`` once and apply it; on failure keep the last good answer."""
        status = self.server.backend_status
        url = backend_url(self.base, f"streams?host={quote(self.host)}")
        timeout = self.server.settings.limits.config_external_timeout
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
            kind = (
                "network_error"
                if isinstance(exc, httpx.HTTPError | TimeoutError)
                else ("malformed_json" if "neither JSON" in message else "invalid_request")
            )
            backend_failed(self.server, url, kind, message)
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
        """Replace the backend streams; stop publications of streams no longer listed."""
        server = self.server
        names = {s.name for s in streams}
        for old in server.backend_streams:
            if old.name not in names:
                pub = server.publications.get(old.name)
                if pub is not None and pub.stream.named_by == "external":
                    pub.stop("the config backend no longer lists this stream")
        if [s.name for s in server.backend_streams] != [s.name for s in streams]:
            log.info("config backend lists %d streams", len(streams))
        server.backend_streams = streams
        server.streams.sync_static(streams, named_by="external")
