"""How an RTMP URL becomes a headwater path and query arguments (DESIGN §1).

``rtmp://host/published`` → ``published``; ``rtmp://host/rtmp/published`` → ``published``
(an application called ``rtmp`` is dropped); ``rtmp://host/client15`` + stream
``published1`` → ``client15/published1``. Query arguments come from the tcUrl, the
application and the stream name, later ones winning (``cam1?password=x``).

Slashes are kept as sent, so the core's one naming rule judges the name: ffmpeg sends
``rtmp://host/live//a`` as application ``live/`` and stream ``a``, which joins to
``live//a`` and is refused for its empty segment, as ``live//a`` is over RTSP or HTTP.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

DROPPED_APP = "rtmp"
_PREFIXES = ("flv:", "mp4:")


def split_query(text: str) -> tuple[str, dict[str, str]]:
    """``"cam1?password=x&a=b"`` → (``"cam1"``, ``{"password": "x", "a": "b"}``)."""
    base, _, query = text.partition("?")
    return base, dict(parse_qsl(query, keep_blank_values=True))


def tc_url_args(tc_url: str) -> dict[str, str]:
    """Query arguments of a tcUrl (``rtmp://host/app?token=t``)."""
    try:
        query = urlsplit(tc_url).query
    except ValueError:
        return {}
    return dict(parse_qsl(query, keep_blank_values=True))


def join_path(app: str, stream: str, tc_url: str = "") -> tuple[str, dict[str, str]]:
    """The stream path and merged query arguments for application ``app`` and stream ``stream``."""
    args = tc_url_args(tc_url)
    app, app_args = split_query(app)
    stream, stream_args = split_query(stream)
    args.update(app_args)
    args.update(stream_args)
    for prefix in _PREFIXES:
        if stream.startswith(prefix):
            stream = stream[len(prefix) :]
    if app == DROPPED_APP or app.startswith(DROPPED_APP + "/"):
        app = app[len(DROPPED_APP) + 1 :]
    parts = [p for p in (app, stream) if p]
    return "/".join(parts), args
