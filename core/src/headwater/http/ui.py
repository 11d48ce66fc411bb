"""The web page at ``/``: every stream with its live stats, refreshed every few seconds.

Plain server-rendered HTML with a meta refresh: readable in any browser, no JavaScript
build step, nothing to install.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from headwater.http.access import check_read_access

router = APIRouter(include_in_schema=False)

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:.35em .6em;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}th{background:#f4f4f4}.live{color:#0a0;font-weight:600}
.idle{color:#888}code{font-size:12px}small{color:#666}
"""


def _human_bitrate(kbps: int) -> str:
    return f"{kbps / 1000:.1f} Mbit/s" if kbps >= 1000 else f"{kbps} kbit/s"


def _tracks(stats: dict[str, Any]) -> str:
    parts = []
    for t in stats.get("media_info", {}).get("tracks", []):
        desc = t["codec"]
        if t.get("width"):
            desc += f" {t['width']}x{t['height']}"
        if t.get("sample_rate"):
            desc += f" {t['sample_rate']} Hz"
        if t.get("channels"):
            desc += f" {t['channels']}ch"
        parts.append(html.escape(desc))
    return "<br>".join(parts) or "—"


def render(server: Any) -> str:
    """The whole page as HTML text."""
    rows = []
    for stream in server.streams:
        info = stream.describe()
        st = info["stats"]
        pub = st.get("publisher", {})
        state = (
            '<span class="live">live</span>' if st["alive"] else '<span class="idle">idle</span>'
        )
        lifetime = f"{st.get('lifetime', 0) // 1000}s" if st["alive"] else ""
        rows.append(
            "<tr>"
            f'<td><a href="/ui/streams/{html.escape(stream.name)}">'
            f"<code>{html.escape(stream.name)}</code></a><br><small>{info['named_by']}</small></td>"
            f"<td>{state} {lifetime}</td>"
            f"<td>{html.escape(str(pub.get('proto', '')))}<br>"
            f"<small>{html.escape(str(pub.get('ip', '')))}</small></td>"
            f"<td>{_tracks(st)}</td>"
            f"<td>{_human_bitrate(st['input_bitrate'])}</td>"
            f"<td>{st['frames_in']} frames<br><small>{st['bytes_in']} bytes</small></td>"
            f"<td>{st['online_clients']}</td><td>{st['drops']}</td>"
            "</tr>"
        )
    body = "".join(rows) or '<tr><td colspan="8">No streams yet. Publish one, e.g. '
    if not rows:
        body += (
            "<code>ffmpeg -re -i input.mp4 -c copy -f flv rtmp://HOST/live/cam1</code></td></tr>"
        )
    listeners = ", ".join(
        f"{proto} {h}:{p}"
        for proto in sorted(server.listeners.running)
        for h, p in server.listeners.addresses(proto)
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>headwater — streams</title><style>{_STYLE}</style></head><body>
<h1>headwater</h1>
<p><small>{len(server.streams)} streams, {server.streams.live_count()} live ·
listening: {html.escape(listeners)} · <a href="/docs">API</a></small></p>
<table><thead><tr><th>Stream</th><th>State</th><th>Publisher</th><th>Tracks</th>
<th>Bitrate</th><th>Received</th><th>Clients</th><th>Drops</th></tr></thead>
<tbody>{body}</tbody></table></body></html>"""


@router.get("/", response_class=HTMLResponse, dependencies=[Depends(check_read_access)])
def index(request: Request) -> HTMLResponse:
    """The stream list page."""
    return HTMLResponse(render(request.app.state.server))
