"""The web UI's stream page, the embeddable player and the vendored player script.

- ``/ui/streams/{name}``: the player and what the API knows of the stream (state, uptime,
  publisher, tracks, a live bitrate graph, consumers, pushes with their state, retries and
  last error), every play URL with a copy button, and a Stop button (the API's
  ``POST /streamer/api/v3/streams/{name}/stop``);
  ``static/stream.js`` polls ``GET /streamer/api/v3/streams/{name}`` every two seconds.
- ``/{name}/embed.html``: Flussonic's embeddable page, the player alone.
- ``/ui/hls.min.js``, ``/ui/player.js``, ``/ui/stream.js``: the scripts. hls.js is vendored
  and pinned (``static/hls.js.version``, refreshed by ``scripts/refresh_hls_js.py``), with its
  Apache-2.0 licence at ``/ui/hls.js.LICENSE``.

The player plays the stream's ``hls`` play URL, so it works with any plugin that names one
(headwater-hls); without one the page says so. With ``view_auth`` set, these pages (like
the list at ``/`` and the API's reads) need its credentials.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from headwater.http.access import check_read_access
from headwater.play_urls import PlayBase, PlayURL, play_urls

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_read_access)])
"""Every page and script here needs the ``view_auth`` credentials when it is set."""

STATIC = Path(__file__).with_name("static")
ASSETS = {
    "hls.min.js": "text/javascript; charset=utf-8",
    "player.js": "text/javascript; charset=utf-8",
    "stream.js": "text/javascript; charset=utf-8",
    "hls.js.LICENSE": "text/plain; charset=utf-8",
}

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1100px}
h1{font-size:1.4em;margin:.2em 0}a{color:#05c}code{font-size:12px}
.grid{display:grid;grid-template-columns:minmax(320px,640px) 1fr;gap:1.5em}
video{width:100%;background:#000;aspect-ratio:16/9}
table{border-collapse:collapse;width:100%}td,th{padding:.25em .5em;border-bottom:1px solid #ddd;
text-align:left}th{background:#f4f4f4}.live{color:#0a0;font-weight:600}.idle{color:#888}
dl{display:grid;grid-template-columns:auto 1fr;gap:.2em 1em;margin:0}dt{color:#666}
svg{width:100%;height:120px;background:#fafafa;border:1px solid #ddd}
button{font-size:12px;margin-left:.5em}small{color:#666}
"""


async def _play_urls(request: Request, stream: Any) -> list[PlayURL]:
    server = request.app.state.server
    return await play_urls(server, stream, PlayBase.from_url(str(request.base_url)))


def _hls_url(urls: list[PlayURL]) -> str | None:
    return next((u.url for u in urls if u.proto == "hls"), None)


def _player(url: str | None, *, controls: bool = True) -> str:
    if url is None:
        return '<p id="player-state">No HLS playback is installed (the headwater-hls plugin).</p>'
    attrs = " controls" if controls else ""
    return (
        f'<video id="video" data-src="{html.escape(url)}"{attrs} autoplay muted playsinline>'
        "</video>"
    )


def _not_found(name: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>not found</title><p>No stream named "
        f"<code>{html.escape(name)}</code>. <a href='/'>All streams</a></p>",
        status_code=404,
    )


@router.get("/ui/streams/{name:path}", response_class=HTMLResponse)
async def stream_page(request: Request, name: str) -> HTMLResponse:
    """The page of one stream: player, state, publisher, tracks, bitrate, consumers, URLs."""
    stream = request.app.state.server.streams.get(name)
    if stream is None:
        return _not_found(name)
    urls = await _play_urls(request, stream)
    rows = "".join(
        f"<tr><td>{html.escape(u.label)}</td><td><code>{html.escape(u.url)}</code>"
        f'<button data-copy="{html.escape(u.url)}">copy</button></td></tr>'
        for u in urls
    )
    quoted = html.escape(name)
    return HTMLResponse(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{quoted} — headwater</title><style>{STYLE}</style></head>
<body><p><a href="/">← all streams</a></p>
<h1 id="stream" data-name="{quoted}">{quoted} <span id="state" class="idle">…</span></h1>
<div class="grid"><div>{_player(_hls_url(urls))}
<p><small>player: <span id="player-state">starting</span> ·
<a href="/{quoted}/embed.html">embed</a></small></p>
<h2>Bitrate</h2>
<svg id="graph" viewBox="0 0 600 120" preserveAspectRatio="none" data-samples="0">
<polyline id="line" fill="none" stroke="#05c" stroke-width="2" points=""/></svg>
<small>last 5 minutes · <span id="graph-peak"></span></small></div>
<div><dl><dt>uptime</dt><dd id="uptime">—</dd><dt>publisher</dt><dd id="publisher">—</dd>
<dt>since</dt><dd id="since">—</dd><dt>bitrate</dt><dd id="bitrate">—</dd>
<dt>received</dt><dd id="received">—</dd><dt>drops</dt><dd id="drops">—</dd></dl>
<h2>Tracks</h2><table><tbody id="tracks"></tbody></table>
<p><button id="stop">Stop</button> <small id="stop-result"></small></p>
<h2>Consumers</h2><table><tbody id="consumers"></tbody></table>
<h2>Pushes</h2><table><tbody id="pushes"></tbody></table></div></div>
<h2>Play URLs</h2><table><tbody id="play-urls">{rows or "<tr><td>none</td></tr>"}</tbody></table>
<script src="/ui/hls.min.js"></script><script src="/ui/player.js"></script>
<script src="/ui/stream.js"></script></body></html>""")


@router.get("/{name:path}/embed.html", response_class=HTMLResponse)
async def embed(request: Request, name: str) -> HTMLResponse:
    """Flussonic's embeddable player page: the stream's video and nothing else."""
    stream = request.app.state.server.streams.get(name)
    if stream is None:
        return _not_found(name)
    player = _player(_hls_url(await _play_urls(request, stream)))
    return HTMLResponse(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(name)}</title>
<style>html,body{{margin:0;height:100%;background:#000}}
video{{width:100%;height:100%;object-fit:contain}}p{{color:#ccc;font:14px sans-serif}}</style>
</head><body>{player}<span id="player-state" hidden></span>
<script src="/ui/hls.min.js"></script><script src="/ui/player.js"></script>
<script>const v = document.getElementById("video");
if (v) headwaterPlay(v, v.dataset.src, function (s) {{
  document.getElementById("player-state").textContent = s; }});</script>
</body></html>""")


def _asset_route(asset: str, media_type: str) -> None:
    """One exact route per file, so no stream name (``ui/...``) is ever shadowed."""

    def serve() -> Response:
        return Response(
            (STATIC / asset).read_bytes(),
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=86400"},
        )

    serve.__doc__ = f"The UI's ``{asset}`` (cached for a day: it changes per release)."
    router.add_api_route(f"/ui/{asset}", serve, methods=["GET"])


for _asset, _media_type in ASSETS.items():
    _asset_route(_asset, _media_type)
