"""The default ``resolve_name``: the protocol's path is the stream name."""

from __future__ import annotations

from headwater.markers import hookimpl
from headwater.naming import default_resolve
from headwater.publish_request import PublishRequest


@hookimpl
def resolve_name(request: PublishRequest) -> str | None:
    """Use the request's path (slashes trimmed) as the name; None when there is no path."""
    name = default_resolve(request.path)
    return name or None
