"""Hook implementations of headwater-push: one :class:`Push` per configured push URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater import hookimpl
from headwater_push.pusher import Push
from headwater_push.template import MULTICAST_SCHEMES, expand, scheme

if TYPE_CHECKING:
    from headwater import Server, ServerSettings, Stream, StreamSettings


@hookimpl
def stream_started(server: Server, stream: Stream, settings: StreamSettings) -> list[Push]:
    """Start a push for every enabled ``pushes[].url``, with ``%s`` replaced by the name."""
    pushes = [
        Push(server, stream, expand(p.url, stream.name)) for p in settings.pushes if not p.disabled
    ]
    stream.publisher["pushes"] = [p.status for p in pushes]
    return pushes


@hookimpl
def check_settings(settings: ServerSettings) -> list[str]:
    """Refuse UDP pushes on templates with prefixes: every stream would share one address."""
    problems = []
    for t_index, template in enumerate(settings.templates):
        if not template.prefixes:
            continue
        for p_index, push in enumerate(template.pushes):
            if scheme(push.url) in MULTICAST_SCHEMES:
                problems.append(
                    f"templates.{t_index}.pushes.{p_index}.url: a {scheme(push.url)}:// push on a "
                    f"template with prefixes would send every stream to the same address "
                    f"({push.url}); push UDP from a static stream instead"
                )
    return problems
