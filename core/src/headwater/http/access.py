"""Who may write through the API: Basic auth with ``edit_auth``, else loopback only."""

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


def check_write_access(request: Request) -> None:
    """Raise 401/403 unless the request may change the server (FastAPI dependency)."""
    server = request.app.state.server
    auth = server.settings.edit_auth
    if auth is None:
        client = request.client.host if request.client else None
        if not is_loopback(client):
            raise HTTPException(403, "API writes are allowed from loopback only (no edit_auth set)")
        return
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            login, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            login, password = "", ""
        ok_login = hmac.compare_digest(login.encode(), auth.login.encode())
        ok_password = hmac.compare_digest(password.encode(), auth.password.encode())
        if ok_login and ok_password:
            return
    raise HTTPException(
        401,
        "API writes need the edit_auth credentials",
        {"WWW-Authenticate": 'Basic realm="headwater"'},
    )
