"""Loading settings: embedded default, TOML file, ``HEADWATER_*`` environment, CLI flags.

Precedence, highest first: CLI flags, environment variables, the changes made through the
API (persisted in the data directory), the TOML file, then the model's defaults. With no
file, the embedded default config (``default.toml`` beside this module) is used.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from headwater.config.models import ServerSettings
from headwater.errors import ConfigError

log = logging.getLogger("headwater.config")
_document: ContextVar[dict[str, Any]] = ContextVar("headwater_document")

PERSISTED_FILE = "api-config.json"
"""File in the data directory holding the changes made through the API."""


def default_document() -> dict[str, Any]:
    """The embedded default configuration as a dict."""
    text = resources.files("headwater.config").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)


Locate = Callable[[tuple[str | int, ...]], "tuple[int, int, str] | None"]
"""Where a key path of the document was written (line, column, directive), if known."""


@dataclass
class ConfigText:
    """A config document read from text, with the warnings reading it gave."""

    document: dict[str, Any]
    syntax: str = "toml"
    warnings: list[str] = field(default_factory=list)
    locate: Locate | None = None


def parse_config_text(text: str, suffix: str = "") -> ConfigText:
    """Parse TOML, JSON or Flussonic's text syntax (chosen by content, see ``detect_syntax``)."""
    from headwater.config.flussonic import detect_syntax, parse_flussonic

    syntax = detect_syntax(text, suffix)
    if syntax == "flussonic":
        parsed = parse_flussonic(text)
        return ConfigText(parsed.document, syntax, parsed.warnings, parsed.position_of)
    try:
        document = json.loads(text) if syntax == "json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(str(exc)) from exc
    if not isinstance(document, dict):
        raise ConfigError("the config document must be a table/object")
    return ConfigText(document, syntax)


def read_config_text(path: Path) -> ConfigText:
    """Read a config file in any of the three syntaxes; errors name the file and line."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    try:
        return parse_config_text(text, path.suffix)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def read_document(path: Path) -> dict[str, Any]:
    """Read a TOML, JSON or Flussonic-syntax config file as a config document."""
    return read_config_text(path).document


def deep_merge(
    base: dict[str, Any], patch: dict[str, Any], *, keep_removed: bool = False
) -> dict[str, Any]:
    """Merge ``patch`` into a copy of ``base``.

    Dicts merge key by key; lists of named entries (``streams``, ``templates``) merge by
    ``name`` (an entry with ``"remove": true`` deletes that name, one with ``"replace":
    true`` replaces it whole instead of merging into it); anything else replaces.
    With ``keep_removed`` the removal entries are kept in the result (merging two patches,
    as the persisted API changes do, so that a removal still applies to the file later).
    """
    out = dict(base)
    for key, value in patch.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            out[key] = deep_merge(old, value, keep_removed=keep_removed)
        elif _named_list(value) and _named_list(old):
            out[key] = _merge_named(old, value, keep_removed)
        elif _named_list(value):
            kept = [v for v in value if keep_removed or not v.get("remove")]
            out[key] = kept if keep_removed else [_unflagged(v) for v in kept]
        else:
            out[key] = value
    return out


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and "name" in v for v in value)
    )


def _merge_named(
    old: list[dict[str, Any]], new: list[dict[str, Any]], keep_removed: bool = False
) -> list[dict[str, Any]]:
    merged = {item["name"]: item for item in old}
    for item in new:
        name = item["name"]
        if item.get("remove"):
            if keep_removed:
                merged[name] = item
            else:
                merged.pop(name, None)
        elif item.get("replace"):
            merged[name] = item if keep_removed else _unflagged(item)
        elif name in merged and not merged[name].get("remove"):
            merged[name] = deep_merge(merged[name], item, keep_removed=keep_removed)
        else:
            merged[name] = item
    return list(merged.values())


def _unflagged(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "replace"}


class _DocumentSource(PydanticBaseSettingsSource):
    """A settings source answering from the already-read config document."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        doc = _document.get({})
        return doc.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_document.get({}))


class Settings(ServerSettings, BaseSettings):
    """The server settings as loaded at start (file + environment + flags)."""

    model_config = SettingsConfigDict(
        env_prefix="HEADWATER_",
        env_nested_delimiter="__",
        extra="allow",
        populate_by_name=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """CLI flags (init), then environment, then the config document."""
        return (init_settings, env_settings, _DocumentSource(settings_cls))


def format_validation_error(
    exc: ValidationError, prefix: str = "", locate: Locate | None = None
) -> str:
    """One line per problem, each naming the key path (``listeners.rtmp.0.port: ...``).

    With ``locate`` (a Flussonic-syntax file), each line also names the line, column and
    directive the key was written with.
    """
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
        path = ".".join(str(p) for p in loc)
        path = f"{prefix}{path}" if path else prefix.rstrip(".") or "(root)"
        where = locate(loc) if locate else None
        if where:
            path = f"line {where[0]}, column {where[1]}, directive {where[2]!r}: {path}"
        lines.append(f"{path}: {err['msg']}")
    return "\n".join(lines)


def load_settings(
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    data_dir: Path | None = None,
    use_persisted: bool = True,
    warnings: list[str] | None = None,
) -> Settings:
    """Build the settings; raise :class:`ConfigError` naming every bad key.

    ``overrides`` are CLI flags already shaped as config keys. Changes persisted by the API
    (``<data_dir>/api-config.json``) are applied over the file. Warnings (directives of a
    Flussonic file that headwater ignores, doubtful prefixes) are appended to ``warnings``
    when given, else logged.
    """
    text = read_config_text(config_file) if config_file else ConfigText(default_document())
    document = text.document
    found = list(text.warnings)
    if warnings is not None:
        warnings.extend(found)
    overrides = dict(overrides or {})
    if data_dir is not None:
        overrides["data_dir"] = str(data_dir)
    dd = Path(overrides.get("data_dir") or document.get("data_dir") or "./headwater-data")
    if use_persisted:
        persisted = dd / PERSISTED_FILE
        if persisted.is_file():
            try:
                document = deep_merge(document, json.loads(persisted.read_text("utf-8")))
            except (OSError, json.JSONDecodeError) as exc:
                raise ConfigError(f"{persisted}: cannot read persisted API changes: {exc}") from exc
    token = _document.set(document)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, locate=text.locate)) from exc
    finally:
        _document.reset(token)
    from headwater.config.advice import settings_warnings

    if warnings is not None:
        warnings.extend(settings_warnings(settings))
    else:
        found += settings_warnings(settings)
        for line in found:
            log.warning("%s", line)
    return settings


def validate_document(document: dict[str, Any]) -> ServerSettings:
    """Validate a config document (as PUT/POST send it) without reading env or files."""
    try:
        return ServerSettings.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from exc
