"""Who may use the API: writes need ``edit_auth`` (else loopback only); reads need
``view_auth`` or ``edit_auth`` credentials when ``view_auth`` is set (else they are open)."""

from __future__ import annotations

import base64
import hmac
import ipaddress

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
    header = request.headers.get("authorization", "")
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


def check_write_access(request: Request) -> None:
    """Raise 401/403 unless the request may change the server (FastAPI dependency)."""
    server = request.app.state.server
    auth = server.settings.edit_auth
    if auth is None:
        client = request.client.host if request.client else None
        if not is_loopback(client):
            raise HTTPException(403, "API writes are allowed from loopback only (no edit_auth set)")
        return
    if _matches(_basic(request), auth):
        return
    raise HTTPException(
        401,
        "API writes need the edit_auth credentials",
        {"WWW-Authenticate": 'Basic realm="headwater"'},
    )
