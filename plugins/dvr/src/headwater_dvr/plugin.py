"""Hook implementations of headwater-dvr: thin, each delegating to the module that does it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from headwater import PlayURL, hookimpl
from headwater_dvr.api import api_routes
from headwater_dvr.metrics import dvr_families
from headwater_dvr.playback import playback_routes
from headwater_dvr.recorder import DvrRecorder
from headwater_dvr.service import DvrService, service_for
from headwater_dvr.settings import problems, root_path

if TYPE_CHECKING:
    from prometheus_client.core import Metric
    from starlette.routing import BaseRoute

    from headwater import PlayBase, Server, ServerSettings, Stream, StreamSettings

log = logging.getLogger("headwater.dvr")


@hookimpl
def listen(server: Server) -> list[DvrService]:
    """The DVR service: opens the archives at start, then sweeps them on schedule."""
    return [service_for(server)]


@hookimpl
async def record(
    server: Server, stream: Stream, settings: StreamSettings, path: str | None
) -> DvrRecorder | None:
    """A segment recorder when the stream's settings have ``dvr`` (once per publication).

    The hook is called once per ``x-record`` path (or once with None): the DVR answers the
    first call of each publication only.
    """
    if settings.dvr is None:
        return None
    service = service_for(server)
    if service.recording.get(stream) == stream.publications:
        return None
    service.recording[stream] = stream.publications
    root = root_path(server, settings.dvr)
    try:
        archive = await service.archive(root)
    except OSError as exc:  # the publication goes on; the operator learns why it is not kept
        log.error("%s: not recorded: DVR archive %s cannot be opened: %s", stream.name, root, exc)
        return None
    return DvrRecorder(stream.name, archive, settings.dvr, on_limit=service.request_sweep)


@hookimpl
def http_routes(server: Server) -> list[BaseRoute]:
    """The ranges API and the archive playback URLs."""
    return [*api_routes(), *playback_routes(server)]


@hookimpl
def stream_info(server: Server, stream: Stream) -> dict[str, Any] | None:
    """``dvr_enabled`` and, once the archive is open, Flussonic's ``dvr_info``."""
    dvr = stream.settings.dvr if stream.settings is not None else None
    if dvr is None:
        return {"dvr_enabled": False}
    archive = service_for(server).cached_archive(dvr)
    summary = archive.summaries.get(stream.name) if archive is not None else None
    info: dict[str, Any] = {"dvr_enabled": True}
    if summary is not None:
        info["dvr_info"] = summary.describe()
    return info


@hookimpl
def play_urls(server: Server, stream: Stream, base: PlayBase) -> list[PlayURL] | None:
    """The whole recorded archive of the stream, as an HLS playlist and as one TS download.

    Named only once the archive holds something; the window runs from the first recorded
    second to the last, so gaps between ranges show as discontinuities.
    """
    dvr = stream.settings.dvr if stream.settings is not None else None
    if dvr is None:
        return None
    archive = service_for(server).cached_archive(dvr)
    summary = archive.summaries.get(stream.name) if archive is not None else None
    if summary is None or not summary.ranges:
        return None
    first = summary.ranges[0][0] // 1000
    duration = max(1, -(-summary.ranges[-1][1] // 1000) - first)
    window = f"{stream.name}/archive-{first}-{duration}"
    return [
        PlayURL("dvr", base.http_url(f"{window}.m3u8"), "DVR archive (HLS)"),
        PlayURL("dvr", base.http_url(f"{window}.ts"), "DVR archive (TS download)"),
    ]


@hookimpl
def metrics(server: Server) -> list[Metric]:
    """``headwater_dvr_*``: archive sizes, depths and deletions."""
    return dvr_families(server)


@hookimpl
def check_settings(settings: ServerSettings) -> list[str]:
    """Refuse ``dvr`` keys this plugin does not implement, naming the key."""
    return problems(settings)
