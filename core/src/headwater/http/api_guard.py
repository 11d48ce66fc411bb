"""The API's front door: who may write is decided from the headers, before any body byte is
read, and a body is read in bounded pieces within a deadline.

An ASGI middleware (it runs before FastAPI reads and parses a body): a write to
``/streamer/api/`` (any method but GET/HEAD/OPTIONS, except the validate-only
``POST /streamer/api/v3/config``) without the credentials gets its 401/403 at once; a body
announced or found larger than ``limits.max_body_size`` gets 413; one that does not arrive
within ``limits.message_timeout`` gets 408. Those answers close the connection, so the
rest of an unwanted body is never read. Errors have the API's documented shape.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import anyio

from headwater.http.access import write_access_problem
from headwater.log_text import shown

if TYPE_CHECKING:
    from headwater.server import Server

log = logging.getLogger("headwater.api")

API_PREFIX = "/streamer/api/"
OPEN_WRITES = frozenset({("POST", "/streamer/api/v3/config")})
"""Writes that need no credentials (validation only: they change nothing)."""
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = dict[str, Any]
Message = dict[str, Any]


class APIGuard:
    """ASGI middleware guarding the API (see the module docstring)."""

    def __init__(self, app: Any, server: Server) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Check credentials, then read the body within its bounds, then call the app."""
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        host = client[0] if client else None
        if method not in _SAFE_METHODS and (method, scope["path"].rstrip("/")) not in OPEN_WRITES:
            problem = write_access_problem(self.server, headers.get("authorization", ""), host)
            if problem is not None:
                log.info(
                    "http %s:%s: %s %s refused (%d) before reading its body: %s",
                    host,
                    client[1] if client else 0,
                    method,
                    shown(scope["path"]),
                    problem.status_code,
                    problem.detail,
                )
                await _answer(send, problem.status_code, problem.detail, problem.headers)
                return
        limits = self.server.settings.limits
        limit = int(limits.max_body_size)
        announced = headers.get("content-length", "")
        if announced.isdigit() and int(announced) > limit:
            log.info(
                "http %s:%s: %s %s refused (413): Content-Length %s is over %d bytes",
                host,
                client[1] if client else 0,
                method,
                shown(scope["path"]),
                shown(announced, 20),
                limit,
            )
            await _answer(send, 413, f"the request body is larger than {limit} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        more = method not in _SAFE_METHODS or bool(announced and announced != "0")
        with anyio.move_on_after(float(limits.message_timeout)) as deadline:
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client left
                body = message.get("body", b"")
                size += len(body)
                if size > limit:
                    log.info(
                        "http %s:%s: %s %s refused (413): body over %d bytes",
                        host,
                        client[1] if client else 0,
                        method,
                        shown(scope["path"]),
                        limit,
                    )
                    await _answer(send, 413, f"the request body is larger than {limit} bytes")
                    return
                chunks.append(body)
                more = message.get("more_body", False)
        if deadline.cancelled_caught:
            log.info(
                "http %s:%s closed: request body not complete within %gs (%d bytes)",
                host,
                client[1] if client else 0,
                limits.message_timeout,
                size,
            )
            await _answer(
                send, 408, f"the request body did not arrive within {limits.message_timeout:g}s"
            )
            return
        body = b"".join(chunks)
        chunks.clear()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _answer(
    send: Any, status: int, detail: Any, headers: dict[str, str] | None = None
) -> None:
    """A JSON error in the API's shape (``{"detail": ...}``) that closes the connection."""
    content = json.dumps({"detail": detail}).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
    ]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": content})
