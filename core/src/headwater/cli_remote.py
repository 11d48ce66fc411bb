"""Commands that talk to a running server through its API: ``streams`` and ``stop``."""

from __future__ import annotations

import os
from typing import Annotated, Any

import httpx
import typer

DEFAULT_URL = "http://127.0.0.1:8080"
UrlOption = Annotated[
    str,
    typer.Option(
        "--url", help="The server's HTTP address (or HEADWATER_URL)", envvar="HEADWATER_URL"
    ),
]
AuthOption = Annotated[
    str | None,
    typer.Option("--auth", help="LOGIN:PASSWORD for Basic auth (or HEADWATER_AUTH)"),
]


def _client(url: str, auth: str | None) -> httpx.Client:
    auth = auth or os.environ.get("HEADWATER_AUTH")
    creds = tuple(auth.split(":", 1)) if auth and ":" in auth else None
    return httpx.Client(base_url=url.rstrip("/"), auth=creds, timeout=5.0)  # type: ignore[arg-type]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _bitrate(kbps: int) -> str:
    return f"{kbps / 1000:.1f} Mbit/s" if kbps >= 1000 else f"{kbps} kbit/s"


def _rows(streams: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    rows = []
    for s in streams:
        st = s.get("stats", {})
        pub = st.get("publisher") or {}
        rows.append(
            (
                s["name"],
                st.get("status", ""),
                str(pub.get("proto", "")),
                str(pub.get("ip", "")),
                _bitrate(int(st.get("input_bitrate", 0))),
                str(st.get("online_clients", 0)),
                s.get("named_by", ""),
            )
        )
    return rows


def streams_command(url: UrlOption = DEFAULT_URL, auth: AuthOption = None) -> None:
    """List a running server's streams in a table (name, status, publisher, bitrate)."""
    from rich.console import Console
    from rich.table import Table

    items: list[dict[str, Any]] = []
    cursor: str | None = None
    try:
        with _client(url, auth) as client:
            while True:
                params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
                response = client.get("/streamer/api/v3/streams", params=params)
                if response.status_code != 200:
                    _fail(f"{url} answered {response.status_code}: {response.text[:200]}")
                page = response.json()
                items.extend(page["streams"])
                cursor = page.get("next")
                if not cursor:
                    break
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {url}: {exc}")
    table = Table("name", "status", "proto", "publisher", "bitrate", "clients", "named_by")
    for row in _rows(items):
        table.add_row(*row)
    Console().print(table)


def stop_command(
    name: Annotated[str, typer.Argument(help="Stream name")],
    url: UrlOption = DEFAULT_URL,
    auth: AuthOption = None,
) -> None:
    """Disconnect a stream's publisher and players (``POST /streams/NAME/stop``)."""
    try:
        with _client(url, auth) as client:
            response = client.post(f"/streamer/api/v3/streams/{name}/stop")
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {url}: {exc}")
    if response.status_code not in (200, 204):
        _fail(f"{url} answered {response.status_code}: {response.text[:200]}")
    print(f"{name}: stopped")
