"""Who may use the API: writes need ``edit_auth`` (else loopback only); reads need
``view_auth`` or ``edit_auth`` credentials when ``view_auth`` is set (else they are open)."""

from __future__ import annotations

import base64
import hmac
import ipaddress
from typing import Any

from fastapi import HTTPException, Request


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses."""
    if not host:
        return False
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or bool(mapped and mapped.is_loopback)


def _basic(request: Request) -> tuple[str, str] | None:
    return _basic_header(request.headers.get("authorization", ""))


def _basic_header(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        login, _, password = base64.b64decode(value).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return login, password


def _matches(given: tuple[str, str] | None, auth: object) -> bool:
    if given is None or auth is None:
        return False
    ok_login = hmac.compare_digest(given[0].encode(), auth.login.encode())  # type: ignore[attr-defined]
    ok_password = hmac.compare_digest(given[1].encode(), auth.password.encode())  # type: ignore[attr-defined]
    return ok_login and ok_password


def who(request: Request) -> str:
    """The caller as the log names it: its Basic-auth login (if any) and address."""
    client = request.client.host if request.client else "?"
    given = _basic(request)
    return f"{given[0]}@{client}" if given and given[0] else client


def check_read_access(request: Request) -> None:
    """Raise 401 unless the request may read (FastAPI dependency): open without
    ``view_auth``; with it, the view or the edit credentials."""
    settings = request.app.state.server.settings
    view = getattr(settings, "view_auth", None)
    if view is None:
        return
    given = _basic(request)
    if _matches(given, view) or _matches(given, settings.edit_auth):
        return
    raise HTTPException(
        401,
        "reading needs the view_auth credentials",
        {"WWW-Authenticate": 'Basic realm="headwater"'},
    )


def write_access_problem(
    server: Any, authorization: str, client: str | None
) -> HTTPException | None:
    """Why a client may not write (401/403), from its ``Authorization`` header and address
    alone, or None when it may. Needs no body, so it runs before a body is read."""
    auth = server.settings.edit_auth
    if auth is None:
        if not is_loopback(client):
            return HTTPException(
                403, "API writes are allowed from loopback only (no edit_auth set)"
            )
        return None
    if _matches(_basic_header(authorization), auth):
        return None
    return HTTPException(
        401,
        "API writes need the edit_auth credentials",
        {"WWW-Authenticate": 'Basic realm="headwater"'},
    )


def check_write_access(request: Request) -> None:
    """Raise 401/403 unless the request may change the server (FastAPI dependency)."""
    problem = write_access_problem(
        request.app.state.server,
        request.headers.get("authorization", ""),
        request.client.host if request.client else None,
    )
    if problem is not None:
        raise problem
