"""Who may write through the API: Basic auth with ``edit_auth``, else loopback only."""

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
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            login, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            login, password = "", ""
        ok_login = hmac.compare_digest(login.encode(), auth.login.encode())
        ok_password = hmac.compare_digest(password.encode(), auth.password.encode())
        if ok_login and ok_password:
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
