"""The core's own listener: the HTTP server for the API, web page and plugin routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.http.listener import HTTPListener
from headwater.markers import hookimpl

if TYPE_CHECKING:
    from headwater.server import Server


@hookimpl
def listen(server: Server) -> list[HTTPListener]:
    """One HTTP listener per ``listeners.http`` entry."""
    return [HTTPListener(server, entry) for entry in server.settings.listeners.get("http", [])]
