"""The HTTP side of low-latency HLS: playlists with blocking reload, init segments, parts.

``/{name}/index.ll.m3u8`` (Flussonic's low-latency URL: a master playlist) points at
``/{name}/mono.ll.m3u8``, the low-latency media playlist; beside it ``ll-init-N.mp4``
(``EXT-X-MAP``), ``ll-part-N.m4s`` (parts) and ``ll-S.m4s`` (whole segments, for players
that ignore parts). The same under ``/{name}/tracks-v1a1/`` for the selected tracks.

Blocking playlist reload (RFC 8216bis 6.2.5.2): a playlist request with ``_HLS_msn=M``
(and ``_HLS_part=P``) is held until segment M (part P of it) is in the playlist, at most
three target durations, then answered ``503``; ``_HLS_part`` without ``_HLS_msn``, a
value that is not a number, an ``M`` more than two segments past the newest, or a ``P``
more than the advance part limit past the newest part, is a ``400`` at once. A request for
the part the playlist's ``EXT-X-PRELOAD-HINT`` names is held the same way until it exists.

Playlist Delta Updates (6.2.5.1): when the playlist is long enough to offer them
(``CAN-SKIP-UNTIL``), ``_HLS_skip=YES`` (or ``v2``) gets the playlist with its oldest
segments replaced by ``EXT-X-SKIP``; without the offer the whole playlist; another value is
a ``400``.
"""

from __future__ import annotations

from typing import Any

from headwater.media.hls import advance_part_limit
from headwater_hls.hls_path import HLSRequest
from headwater_hls.live import HLSHub, LiveHLS
from headwater_hls.replies import MP4_TYPE, Reply, playlist, refuse
from headwater_hls.routes import master_pointing_at, ready, request_variant

BLOCKING_TARGETS = 3
"""A blocking request waits at most this many target durations (RFC 8216bis 6.2.5.2)."""


def _number(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18:
        raise ValueError(text)
    return int(text)


def delivery_directives(query: dict[str, str]) -> tuple[int, int | None] | str | None:
    """``(msn, part)`` from ``_HLS_msn``/``_HLS_part``, None without them, or the reason
    they are a Bad Request."""
    try:
        msn, part = _number(query.get("_HLS_msn")), _number(query.get("_HLS_part"))
    except ValueError as exc:
        return f"_HLS_msn and _HLS_part are whole numbers, not {exc}"
    if msn is None:
        return None if part is None else "_HLS_part needs _HLS_msn"
    return msn, part


SKIP_VALUES = frozenset({"YES", "v2"})
"""``_HLS_skip`` values (``v2`` also skips date ranges, of which there are none here)."""


def skip_directive(query: dict[str, str]) -> bool | str:
    """Whether ``_HLS_skip`` asks for a Playlist Delta Update, or the reason its value is
    a Bad Request."""
    value = query.get("_HLS_skip")
    if value is None:
        return False
    if value not in SKIP_VALUES:
        return f"_HLS_skip is YES or v2, not {value[:20]!r}"
    return True


def too_far(window: Any, msn: int, part: int | None, part_target: float) -> str | None:
    """Why a blocking request for (``msn``, ``part``) is too far ahead of the newest part
    of ``window`` (a :class:`~headwater_hls.part_window.PartWindow`, maybe selected): a Bad
    Request; or None."""
    last = window.last_position()
    if last is None:
        return None
    last_msn, last_part = last
    limit = advance_part_limit(part_target)
    if msn > last_msn + 2:
        return f"_HLS_msn={msn} is more than two segments past the newest ({last_msn})"
    if part is not None:
        ahead = part - last_part if msn == last_msn else part + 1
        if msn >= last_msn and ahead > limit:
            return f"_HLS_part={part} is more than {limit} parts past the newest"
    return None


def blocking_timeout(live: LiveHLS) -> float:
    """How long a blocking request of ``live`` is held at most."""
    return BLOCKING_TARGETS * max(live.settings.segment_duration, 1.0)


async def master(hub: HLSHub, request: HLSRequest) -> Reply:
    """The low-latency master playlist: one variant, ``mono.ll.m3u8`` beside it."""
    return await master_pointing_at(hub, request, "mono.ll.m3u8")


async def media(hub: HLSHub, request: HLSRequest) -> Reply:
    """The low-latency media playlist, held for a blocking reload's part; its delta
    update for ``_HLS_skip=YES`` (RFC 8216bis 6.2.5.1) when it offers them."""
    query = request.query
    directive = delivery_directives(query)
    skip = skip_directive(query)
    for problem in (directive, skip):
        if isinstance(problem, str):
            return refuse(400, f"stream {request.name!r}: {problem}")
    live = await ready(hub, request)
    if isinstance(live, Reply):
        return live
    window = live.window
    if directive is not None:
        msn, part = directive
        reason = too_far(window, msn, part, live.settings.part_duration)
        if reason is not None:
            return refuse(400, f"stream {live.name!r}: {reason}")
        if not window.has_part(msn, part) and window.publishing:
            wait = blocking_timeout(live)
            await live.wait_for(lambda: window.has_part(msn, part) or not window.publishing, wait)
            live.touch()
            if not window.has_part(msn, part) and window.publishing:
                at = f"{msn}.{part}" if part is not None else str(msn)
                return refuse(503, f"stream {live.name!r}: part {at} not ready in {wait:g}s")
    return playlist(window.media_playlist_bytes(skip=bool(skip)))


def running(hub: HLSHub, request: HLSRequest) -> LiveHLS | Reply:
    """The running low-latency HLS a request for a part or segment names, or the 404."""
    variant = request_variant(request)
    if isinstance(variant, Reply):
        return variant
    live = hub.get(request.name, variant)
    if live is None:
        return refuse(404, f"stream {request.name!r} has no low-latency HLS running")
    live.touch()
    return live


def missing(request: HLSRequest) -> Reply:
    """The 404 of a part, segment or init segment no longer (or not yet) held."""
    return refuse(404, f"stream {request.name!r} has no {request.url_path}")


async def init(hub: HLSHub, request: HLSRequest) -> Reply:
    """An init segment (``EXT-X-MAP``)."""
    live = running(hub, request)
    if isinstance(live, Reply):
        return live
    data = live.window.inits.get(request.path.number)
    if data is None:
        return missing(request)
    return Reply(200, live.media_headers(MP4_TYPE), data)


async def part(hub: HLSHub, request: HLSRequest) -> Reply:
    """A part; the next one (the preload hint) is waited for."""
    live = running(hub, request)
    if isinstance(live, Reply):
        return live
    window = live.window
    number = request.path.number
    if window.part(number) is None and window.publishing and number == window.next_part:
        await live.wait_for(
            lambda: window.part(number) is not None or not window.publishing,
            blocking_timeout(live),
        )
    found = window.part(number)
    if found is None:
        return missing(request)
    return Reply(200, live.media_headers(MP4_TYPE), found.data)


async def segment(hub: HLSHub, request: HLSRequest) -> Reply:
    """A whole segment (its parts in order, joined once)."""
    live = running(hub, request)
    if isinstance(live, Reply):
        return live
    found = live.window.segment(request.path.number)
    if found is None:
        return missing(request)
    return Reply(200, live.media_headers(MP4_TYPE), found.data)
