"""``/streamer/api/v3/config``: read, change (persisted, applied live) and validate settings."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from headwater.config.loading import PERSISTED_FILE, deep_merge
from headwater.errors import ConfigError, PluginError
from headwater.http.access import check_write_access
from headwater.http.config_body import ConfigBody, read_config_body
from headwater.plugins import validate_plugin_sections

router = APIRouter(prefix="/streamer/api/v3", tags=["config"])
log = logging.getLogger("headwater.api")


def current_document(server: Any) -> dict[str, Any]:
    """The running settings as a config document (what GET returns, minus stats)."""
    return server.settings.model_dump(mode="json", exclude_none=True)


def persist(server: Any, patch: dict[str, Any]) -> None:
    """Merge ``patch`` into the persisted API changes in the data directory (atomically)."""
    directory = Path(server.settings.data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / PERSISTED_FILE
    previous: dict[str, Any] = {}
    if path.is_file():
        try:
            previous = json.loads(path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            log.warning("%s was unreadable; starting the persisted API changes afresh", path)
    tmp = path.with_suffix(".tmp")
    merged = deep_merge(previous, patch, keep_removed=True)
    tmp.write_text(json.dumps(merged, indent=2), "utf-8")
    os.replace(tmp, path)


def error_list(message: str) -> list[dict[str, str]]:
    """Turn a ConfigError message (one ``path: problem`` per line) into a list."""
    out = []
    for line in message.splitlines():
        path, sep, problem = line.partition(": ")
        out.append({"path": path, "message": problem} if sep else {"path": "", "message": line})
    return out


async def apply_patch(server: Any, body: ConfigBody) -> list[str]:
    """Merge ``body.patch`` into the running config, apply it live and persist it.

    Raises HTTPException 400 naming every problem; the running config is then unchanged.
    """
    try:
        changed = await server.apply_settings(_merged(server, body))
    except (ConfigError, PluginError) as exc:
        raise HTTPException(400, {"errors": error_list(str(exc))}) from exc
    except OSError as exc:
        raise HTTPException(400, {"errors": [{"path": "listeners", "message": str(exc)}]}) from exc
    persist(server, {k: v for k, v in body.patch.items() if k != "stats"})
    log.info(
        "config changed through the API%s", f"; reopened {', '.join(changed)}" if changed else ""
    )
    return changed


@router.get("/config", dependencies=[Depends(check_write_access)])
def get_config(request: Request) -> dict[str, Any]:
    """The running configuration, with read-only ``stats`` (config backend state).

    It holds passwords and passphrases, so reading it needs the same access as writing.
    """
    server = request.app.state.server
    doc = current_document(server)
    doc["stats"] = {
        "config_external": dict(server.backend_status),
        "streams": len(server.streams),
        "live_streams": server.streams.live_count(),
    }
    return doc


def _merged(server: Any, body: ConfigBody) -> Any:
    from pydantic import ValidationError

    from headwater.config.loading import format_validation_error
    from headwater.config.models import ServerSettings

    document = deep_merge(current_document(server), body.patch)
    try:
        return ServerSettings.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, locate=body.locate)) from exc


_BODY_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/plain": {"schema": {"type": "string"}},
        },
        "required": True,
    }
}


@router.post("/config", openapi_extra=_BODY_DOC)
async def validate_config(request: Request) -> JSONResponse:
    """Validate a config (JSON patch, or Flussonic text as ``text/plain``); change nothing."""
    server = request.app.state.server
    body = ConfigBody({})
    try:
        body = await read_config_body(request, current_document(server))
        validate_plugin_sections(server.pm, _merged(server, body))
    except (ConfigError, PluginError) as exc:
        return JSONResponse(
            {"valid": False, "errors": error_list(str(exc)), "warnings": body.warnings},
            status_code=400,
        )
    return JSONResponse({"valid": True, "errors": [], "warnings": body.warnings})


@router.put("/config", dependencies=[Depends(check_write_access)], openapi_extra=_BODY_DOC)
async def put_config(request: Request) -> dict[str, Any]:
    """Change the running config, apply it live and persist it.

    A JSON body is merged over the running config; a ``text/plain`` body (Flussonic's
    syntax) replaces it.
    """
    server = request.app.state.server
    try:
        body = await read_config_body(request, current_document(server))
    except ConfigError as exc:
        raise HTTPException(400, {"errors": error_list(str(exc))}) from exc
    for line in body.warnings:
        log.warning("config from the API: %s", line)
    await apply_patch(server, body)
    answer = get_config(request)
    if body.warnings:
        answer["warnings"] = body.warnings
    return answer
