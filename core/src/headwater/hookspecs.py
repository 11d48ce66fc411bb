"""The hooks a headwater plugin may implement.

Every hook may be implemented as a plain function or as an ``async def`` (or return any
awaitable): pluggy cannot await, so the core calls every implementation, awaits each
result, and then combines them as each docstring says (:mod:`headwater.hookcall`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from prometheus_client.core import Metric
    from pydantic import BaseModel
    from starlette.routing import BaseRoute

    from headwater.config.models import ServerSettings, StreamSettings
    from headwater.consumers import Consumer
    from headwater.listeners import Listener
    from headwater.play_urls import PlayBase, PlayURL
    from headwater.publish_request import PublishRequest
    from headwater.server import Server
    from headwater.stream import Stream
    from headwater.verdict import Verdict

hookspec = pluggy.HookspecMarker("headwater")

# -------------------------------------------------------------------------------------------
# Start-up and settings
# -------------------------------------------------------------------------------------------


@hookspec
def settings_sections() -> dict[str, type[BaseModel]] | None:
    """Declare the plugin's own top-level config sections.

    :returns: a mapping of section name to a pydantic model validating it, or None.

    Called each time settings are validated (start-up, ``PUT``/``POST`` of the config,
    ``headwater check-config``), so errors in plugin sections are reported like any other.
    The dicts of all plugins are merged; two plugins claiming one section is an error.
    """


@hookspec
def check_settings(settings: ServerSettings) -> list[str] | None:
    """Report problems in the whole configuration that no single model can see.

    :param settings: the validated settings about to be used (at start, PUT, check-config).
    :returns: error lines of the form ``key.path: problem`` (e.g.
        ``templates.0.pushes.0.url: a UDP push on a template with prefixes ...``), or None.

    Called synchronously whenever settings are validated; all results are concatenated and
    any error refuses the settings.
    """


@hookspec
def listen(server: Server) -> Sequence[Listener] | Awaitable[Sequence[Listener]] | None:
    """Open this plugin's listeners from ``server.settings.listeners``.

    :param server: the running server; ``server.settings.listeners.get("rtmp", [])``
        gives that protocol's listener entries.
    :returns: listener objects (each with ``name``, ``addresses`` and an
        ``async serve(*, task_status)`` method), or None when the plugin listens on nothing.

    Called at start-up and again whenever the listener config changes (``PUT
    /streamer/api/v3/config``); the core stops the previous listeners of that plugin first.
    All results are concatenated.
    """


@hookspec
def http_routes(server: Server) -> Sequence[BaseRoute] | None:
    """Contribute Starlette routes to the one HTTP server.

    :returns: routes such as ``Route("/{name:path}/mpegts", ...)``, or None.

    Called each time the HTTP listener starts (start-up, and when ``listeners.http``
    changes); all results are concatenated, in plugin order, after the API routes and the
    web page at ``/``.
    """


# -------------------------------------------------------------------------------------------
# Publishing: naming and authorization
# -------------------------------------------------------------------------------------------


@hookspec
def resolve_name(server: Server, request: PublishRequest) -> str | Awaitable[str | None] | None:
    """Turn an incoming publication into a stream name.

    :param request: protocol, local port, path, query args, peer address, SRT stream id.
    :returns: the stream name, or None when this implementation has no opinion.

    Called for every publication before anything else. The first non-None result (after
    awaiting, in plugin order, later-registered plugins first) wins; the built-in
    path-based resolver answers last. Raise :class:`headwater.PublishRejected` to refuse
    outright (e.g. the SRT port resolver when the config backend says no).
    """


@hookspec
def authorize(
    server: Server, request: PublishRequest, settings: StreamSettings
) -> Verdict | Awaitable[Verdict | None] | None:
    """Decide whether a publication may go ahead.

    :param request: the publication, with ``request.name`` resolved.
    :param settings: the static stream or template that accepted the name.
    :returns: a :class:`headwater.Verdict` (allow or deny, optionally a recording path),
        or None for no opinion.

    Called after the name is resolved and matched. Every implementation is asked; any
    denial refuses the publication; recording paths from allowing verdicts are all used.
    """


# -------------------------------------------------------------------------------------------
# Stream lifecycle
# -------------------------------------------------------------------------------------------


@hookspec
def record(
    server: Server, stream: Stream, settings: StreamSettings, path: str | None
) -> Consumer | Awaitable[Consumer | None] | None:
    """Attach a recorder to a stream that just started.

    :param stream: the stream, with its publisher attached.
    :param settings: its settings (``settings.dvr`` among them).
    :param path: a recording path an authorization verdict named (``x-record``), or None.
    :returns: a :class:`headwater.Consumer` that the core runs on its own subscription
        for as long as the publication lasts, or None.

    Called once per publication for each recording path the verdicts named (once with
    ``path=None`` when none did); every non-None result runs.
    """


@hookspec
def stream_started(
    server: Server, stream: Stream, settings: StreamSettings
) -> Sequence[Consumer] | Awaitable[Sequence[Consumer] | None] | None:
    """React to a publication starting; optionally return consumers to run alongside it.

    :returns: consumers the core runs on their own subscriptions until the publication ends
        (the push plugin returns one per configured push), or None.

    Called once per publication after ``record``; all results are concatenated.
    """


@hookspec
def stream_stopped(server: Server, stream: Stream) -> Awaitable[None] | None:
    """React to a publication ending (the publisher left or was refused mid-way).

    Called once per publication after its consumers were stopped; results are ignored.
    Not called when a takeover replaced the publisher: the stream goes on under the new one.
    """


@hookspec
def stream_info(server: Server, stream: Stream) -> dict[str, Any] | None:
    """Add fields to a stream's ``stats`` as ``GET /streamer/api/v3/streams`` shows it.

    :param stream: the stream being described (live or idle).
    :returns: a dict merged into the stream's ``stats`` (e.g. the DVR's ``dvr_enabled``
        and ``dvr_info``), or None.

    Called synchronously for each stream the API describes, so it must answer from memory;
    all results are merged in plugin order (a later plugin's key wins).
    """


@hookspec
def push(server: Server, stream: Stream, url: str) -> Consumer | Awaitable[Consumer | None] | None:
    """Make an outbound publication of ``stream`` to ``url``.

    :param url: the destination, ``%s`` already replaced by the stream name.
    :returns: a :class:`headwater.Consumer` whose ``run`` connects, publishes the frames it
        reads and raises on failure (so the caller can retry with back-off), or None when
        the plugin does not handle the URL's scheme.

    Called by the push plugin for each push URL; the first non-None result wins, so each
    protocol plugin claims its own schemes.
    """


# -------------------------------------------------------------------------------------------
# Playing
# -------------------------------------------------------------------------------------------


@hookspec
def play_urls(
    server: Server, stream: Stream, base: PlayBase
) -> Sequence[PlayURL] | Awaitable[Sequence[PlayURL] | None] | None:
    """Name the URLs at which this plugin lets people watch ``stream``.

    :param stream: the stream being shown (live or not).
    :param base: how the asking client reaches the server: ``base.host`` for URLs on this
        plugin's own listeners (``base.url("rtmp", port, name)``), ``base.http_url(path)``
        for routes on the HTTP listener.
    :returns: :class:`headwater.PlayURL` objects (``proto``, ``url``, ``label``), or None
        when the plugin serves no playback for this stream.

    Called each time the API shows one stream (``GET /streamer/api/v3/streams/{name}``) and
    for the stream page of the web UI. All results are concatenated, in plugin order.
    """


# -- operations ----------------------------------------------------------------------------


@hookspec
def metrics(server: Server) -> Sequence[Metric] | None:
    """Contribute Prometheus metric families to ``GET /metrics``.

    :returns: ``prometheus_client`` metric families (``GaugeMetricFamily``,
        ``CounterMetricFamily``...) read from the plugin's state now, or None. Name them
        ``headwater_<plugin>_...`` and keep label sets bounded (streams, not clients).

    Called synchronously at every scrape (must not be async); all results are concatenated.
    """
