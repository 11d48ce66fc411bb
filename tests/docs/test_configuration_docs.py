"""docs/configuration.md against the config model: every key, its default, every example."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any

import pytest
from docs_markdown import blocks, read, without_fences
from pydantic import BaseModel, TypeAdapter

from headwater.config import models
from headwater.config.loading import default_document, load_settings, validate_document
from headwater.plugins import make_plugin_manager, validate_plugin_sections

DOC = "configuration.md"

SECTION_OF_MODEL: dict[type[BaseModel], str] = {
    models.ServerSettings: "Top-level keys",
    models.ListenerSettings: "listeners",
    models.PortRange: "listeners",
    models.StreamSettings: "streams and templates",
    models.InputSettings: "streams and templates",
    models.OnPublish: "on_publish",
    models.DVRSettings: "dvr",
    models.PushSettings: "pushes",
    models.SRTPublishSettings: "srt_publish",
    models.EditAuth: "edit_auth",
    models.EventSinkSettings: "event_sinks",
    models.Limits: "limits",
    models.PluginsSettings: "plugins",
}
"""Which section of configuration.md documents each model's fields in its key table."""

_ROW = re.compile(r"^\| `(\w+)` \| ([^|]*) \| ([^|]*) \|", re.M)
_HEADING = re.compile(r"^#{1,6} (.+)$", re.M)


def config_models(root: type[BaseModel] = models.ServerSettings) -> set[type[BaseModel]]:
    """Every pydantic model reachable from ``root`` through field annotations."""
    found: set[type[BaseModel]] = set()

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.add(annotation)
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        for arg in typing.get_args(annotation):
            visit(arg)

    visit(root)
    return found


def own_text(title: str) -> str:
    """The text under the heading ``title`` up to the next heading of any level."""
    text = read(DOC)
    clean = without_fences(text)  # '#' comments in examples are not headings
    heads = [(m.start(), m.end(), m.group(1).strip()) for m in _HEADING.finditer(clean)]
    for i, (_start, end, name) in enumerate(heads):
        if name == title:
            stop = heads[i + 1][0] if i + 1 < len(heads) else len(text)
            return text[end:stop]
    raise AssertionError(f"{DOC} has no heading {title!r}")


def rows(title: str) -> dict[str, tuple[str, str]]:
    """Key-table rows of a section: key → (type column, default column)."""
    return {
        m.group(1): (m.group(2).strip(), m.group(3).strip()) for m in _ROW.finditer(own_text(title))
    }


def documented_keys(model: type[BaseModel]) -> list[str]:
    """The keys as written in a document: a field's alias (``except``) or its name."""
    return [field.alias or name for name, field in model.model_fields.items()]


def test_every_config_model_has_a_section() -> None:
    missing = config_models() - set(SECTION_OF_MODEL)
    assert not missing, f"models with no section in {DOC}: {sorted(m.__name__ for m in missing)}"


@pytest.mark.parametrize(
    "model", sorted(SECTION_OF_MODEL, key=lambda m: m.__name__), ids=lambda m: m.__name__
)
def test_every_field_has_a_row(model: type[BaseModel]) -> None:
    documented = rows(SECTION_OF_MODEL[model])
    missing = [key for key in documented_keys(model) if key not in documented]
    assert not missing, f"{model.__name__}: no row in '{SECTION_OF_MODEL[model]}' for {missing}"


@pytest.mark.parametrize("title", sorted(set(SECTION_OF_MODEL.values())))
def test_no_row_documents_a_key_that_does_not_exist(title: str) -> None:
    fields = {n for m, t in SECTION_OF_MODEL.items() if t == title for n in documented_keys(m)}
    fiction = sorted(set(rows(title)) - fields)
    assert not fiction, f"'{title}' documents keys the model does not have: {fiction}"


def _documented_value(cell: str, annotation: Any) -> Any:
    literal = re.fullmatch(r"`([^`]+)`", cell)
    assert literal, f"default {cell!r} is not a `literal`, 'required' or 'none'"
    raw = literal.group(1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a unit form such as 16M
    return TypeAdapter(annotation).validate_python(value)


@pytest.mark.parametrize(
    "model", sorted(SECTION_OF_MODEL, key=lambda m: m.__name__), ids=lambda m: m.__name__
)
def test_documented_defaults_are_the_model_defaults(model: type[BaseModel]) -> None:
    documented = rows(SECTION_OF_MODEL[model])
    for name, field in model.model_fields.items():
        cell = documented[field.alias or name][1]
        if field.is_required():
            assert cell == "required", f"{model.__name__}.{name} is required, docs say {cell!r}"
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            assert cell.startswith("see "), f"{model.__name__}.{name}: point to its section"
        elif default is None:
            assert cell == "none", f"{model.__name__}.{name} defaults to None, docs say {cell!r}"
        else:
            annotation = (
                Annotated[(field.annotation, *field.metadata)]
                if field.metadata
                else field.annotation
            )
            shown = _documented_value(cell, annotation)
            assert shown == default, f"{model.__name__}.{name}: docs {cell}, model {default!r}"


def test_embedded_default_block_parses_equal_to_default_toml() -> None:
    (block,) = [b for b in blocks(read(DOC)) if b.heading == "Embedded default"]
    assert block.lang == "toml"
    assert tomllib.loads(block.text) == default_document()


def test_embedded_default_block_is_verbatim() -> None:
    (block,) = [b for b in blocks(read(DOC)) if b.heading == "Embedded default"]
    source = Path(models.__file__).with_name("default.toml").read_text("utf-8")
    assert block.text == source


def example_pairs() -> list[tuple[int, str, str]]:
    """(line, toml text, json text) of every TOML example and the JSON form right after it."""
    found = blocks(read(DOC))
    pairs = []
    for i, block in enumerate(found):
        if block.lang != "toml" or block.heading == "Embedded default":
            continue
        after = found[i + 1] if i + 1 < len(found) else None
        assert after is not None and after.lang == "json", (
            f"{DOC}:{block.line}: the TOML example has no JSON form right after it"
        )
        pairs.append((block.line, block.text, after.text))
    return pairs


def test_there_are_examples() -> None:
    assert len(example_pairs()) >= 7


@pytest.mark.parametrize(
    ("line", "toml_text", "json_text"),
    example_pairs(),
    ids=lambda v: str(v) if isinstance(v, int) else "",
)
def test_toml_and_json_forms_are_the_same_valid_document(
    line: int, toml_text: str, json_text: str
) -> None:
    document = tomllib.loads(toml_text)
    assert json.loads(json_text) == document, f"{DOC}:{line}: TOML and JSON forms differ"
    settings = validate_document(document)
    validate_plugin_sections(make_plugin_manager(), settings)  # plugin sections and cross-key rules


def test_environment_examples_load_as_described(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (block,) = [b for b in blocks(read(DOC)) if b.lang == "sh" and "HEADWATER_" in b.text]
    for line in block.text.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            key, _, value = words[0].partition("=")
            monkeypatch.setenv(key, value)
    settings = load_settings(None, use_persisted=False)
    assert settings.log_level == "debug"
    assert settings.data_dir == "/var/lib/headwater"
    assert settings.limits.max_streams == 500
    assert settings.limits.dynamic_stream_ttl == 120.0
    assert [e.port for e in settings.listeners["rtmp"]] == [1936]
    assert [e.port for e in settings.listeners["http"]] == [8080]  # merged with the file's


def test_persisted_api_changes_override_the_file(tmp_path: Path) -> None:
    """The precedence the page states: API changes over the file, environment over both."""
    config = tmp_path / "headwater.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[limits]\nmax_streams = 7\nqueue_frames = 100\n')
    (tmp_path / "api-config.json").write_text('{"limits": {"max_streams": 9}}')
    settings = load_settings(config)
    assert (settings.limits.max_streams, settings.limits.queue_frames) == (9, 100)
    assert load_settings(config, {"log_level": "error"}).log_level == "error"


# -- the plugins' own sections -----------------------------------------------------------------

_SECTION_HEADING = re.compile(r"^#{2,3} .*`\[(\w+)\]`", re.M)
_PLUGIN_ROW = re.compile(r"^\| `(\w+)` \| ([^|]*) \|", re.M)


def plugin_sections() -> dict[str, type[BaseModel]]:
    """Every config section an installed plugin declares, with its model."""
    pm = make_plugin_manager()
    return {
        key: model
        for impl in pm.hook.settings_sections.get_hookimpls()
        for key, model in (impl.function() or {}).items()
    }


def documented_section(key: str) -> dict[str, str]:
    """key → default cell of the ``[key]`` settings table, from whichever page has it."""
    for page in sorted(Path(__file__).resolve().parents[2].joinpath("docs").glob("*.md")):
        text = without_fences(page.read_text("utf-8"))
        for match in _SECTION_HEADING.finditer(text):
            if match.group(1) == key:
                rest = text[match.end() :]
                stop = re.search(r"^#{1,3} ", rest, re.M)
                body = rest[: stop.start()] if stop else rest
                return {m.group(1): m.group(2).strip() for m in _PLUGIN_ROW.finditer(body)}
    raise AssertionError(f"no page in docs/ has a '## ... `[{key}]` ...' settings section")


def test_installed_plugins_declare_sections() -> None:
    assert {"rtmp", "srt"} <= set(plugin_sections())


@pytest.mark.parametrize("key", sorted(plugin_sections()))
def test_every_plugin_setting_is_documented_with_its_default(key: str) -> None:
    model = plugin_sections()[key]
    documented = documented_section(key)
    assert set(documented) == set(model.model_fields), f"[{key}]: docs and model keys differ"
    for name, field in model.model_fields.items():
        cell = documented[name]
        number = re.fullmatch(r"([\d.]+)(?: (?:s|ms|bytes))?", cell)
        shown: Any = {"true": True, "false": False}.get(cell)
        if number:
            shown = float(number.group(1))
        text = re.fullmatch(r'`"([^"]*)"`', cell)  # a string default, as `"basic"`
        if text:
            shown = text.group(1)
        assert shown == field.get_default(call_default_factory=True), f"[{key}] {name}: {cell}"
