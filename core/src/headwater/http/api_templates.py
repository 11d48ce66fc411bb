"""``/streamer/api/v3/templates``: the publish locations (prefixes), one at a time.

Templates hold passwords and handler URLs, so reading them needs the same access as
writing (like ``GET /config``). Changes are applied live and persisted.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request, Response

from headwater.http.access import check_write_access, who
from headwater.http.config_body import ConfigBody

router = APIRouter(
    prefix="/streamer/api/v3", tags=["templates"], dependencies=[Depends(check_write_access)]
)


def _dump(template: Any) -> dict[str, Any]:
    return template.model_dump(mode="json", exclude_none=True, by_alias=True)


@router.get("/templates")
def list_templates(request: Request) -> dict[str, Any]:
    """Every template in match order."""
    templates = request.app.state.server.settings.templates
    return {"estimated_count": len(templates), "templates": [_dump(t) for t in templates]}


@router.get("/templates/{name:path}")
def get_template(request: Request, name: str) -> dict[str, Any]:
    """One template; 404 when none has that name."""
    for template in request.app.state.server.settings.templates:
        if template.name == name:
            return _dump(template)
    raise HTTPException(404, f"no template named {name!r}")


@router.put("/templates/{name:path}")
async def put_template(
    request: Request, name: str, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Create or change one template (fields merge into its current config)."""
    from headwater.http.api_config import apply_patch

    entry = {k: v for k, v in body.items() if k != "stats"} | {"name": name}
    await apply_patch(request.app.state.server, ConfigBody({"templates": [entry]}))
    return get_template(request, name)


@router.delete("/templates/{name:path}", status_code=204)
async def delete_template(request: Request, name: str) -> Response:
    """Remove a template; publishers under its prefixes that no other entry accepts are
    disconnected."""
    from headwater.http.api_config import apply_patch

    server = request.app.state.server
    if not any(t.name == name for t in server.settings.templates):
        raise HTTPException(404, f"no template named {name!r}")
    await apply_patch(server, ConfigBody({"templates": [{"name": name, "remove": True}]}))
    for pub in list(server.publications.values()):
        if not pub.stream.static and server.find_settings(pub.name) is None:
            pub.stop(f"template {name!r} deleted through the API by {who(request)}")
    return Response(status_code=204)
