"""Hook implementations of headwater-hello: thin functions that delegate.

The core finds this module through the entry point in pyproject.toml
(``[project.entry-points.headwater] hello = "headwater_hello.plugin"``).
"""

from __future__ import annotations

from headwater import (
    PublishRequest,
    Refusal,
    Server,
    ServerSettings,
    Stream,
    StreamSettings,
    Verdict,
    hookimpl,
)
from headwater_hello.counter import FrameCounter
from headwater_hello.routes import hello_routes
from headwater_hello.server import HelloListener
from headwater_hello.settings import PROTOCOLS_KEY, SECTION, HelloSettings


@hookimpl
def settings_sections() -> dict[str, type[HelloSettings]]:
    """Declare ``[hello]``."""
    return {SECTION: HelloSettings}


@hookimpl
def check_settings(settings: ServerSettings) -> list[str]:
    """``hello_protocols`` on a stream or template must be a list of protocol names."""
    problems = []
    for kind in ("streams", "templates"):
        for index, entry in enumerate(getattr(settings, kind)):
            value = (entry.model_extra or {}).get(PROTOCOLS_KEY)
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                problems.append(f"{kind}.{index}.{PROTOCOLS_KEY}: expected a list of protocols")
    return problems


@hookimpl
def listen(server: Server) -> list[HelloListener]:
    """One listener per ``listeners.hello`` entry."""
    return [HelloListener(server, entry) for entry in server.settings.listeners.get("hello", [])]


@hookimpl
def http_routes(server: Server) -> list:
    """``GET /hello``."""
    return hello_routes(server)


@hookimpl
def authorize(request: PublishRequest, settings: StreamSettings) -> Verdict | None:
    """Refuse protocols that ``hello_protocols`` of the stream or template does not list."""
    allowed = (settings.model_extra or {}).get(PROTOCOLS_KEY)
    if allowed is None or request.proto in allowed:
        return None
    return Verdict.deny(f"publishing over {request.proto} is not allowed here", Refusal.FORBIDDEN)


@hookimpl
def stream_started(server: Server, stream: Stream, settings: StreamSettings) -> list[FrameCounter]:
    """Count the frames of every stream."""
    return [FrameCounter(stream)]
