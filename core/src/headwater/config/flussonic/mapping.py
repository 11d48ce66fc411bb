"""Flussonic's directives mapped onto headwater's config document (API v3 field names).

The result is the same dict a TOML file or a ``PUT /streamer/api/v3/config`` JSON body
gives, so everything after this point (validation, the API, persistence) is shared.
Directives headwater does not implement become warnings naming them and their line;
directives it implements but with arguments it cannot read are errors with line and
column. Each key the mapping writes remembers the directive it came from, so a later
validation error (a passphrase too short) still points at the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from headwater.config.flussonic.lexer import Token
from headwater.config.flussonic.syntax import Directive, parse_directives

Path = tuple[str | int, ...]

LISTENER_PROTOCOLS = {
    "http": "http",
    "rtmp": "rtmp",
    "rtmps": "rtmps",
    "rtsp": "rtsp",
    "srt": "srt",
}
"""Global port directives and the ``listeners`` key each fills."""

UNSUPPORTED_GLOBAL = {
    "https": "HTTPS is not served by headwater; put a TLS proxy in front of the http listener",
    "rtsps": "RTSPS is not served by headwater",
}
"""Known Flussonic directives refused with a specific reason (warnings)."""

_PORT = re.compile(
    r"^(?:(?P<host>\[[^\]]+\]|[^:\[\]]+):)?(?P<port>\d{1,5})(?:-(?P<last>\d{1,5}))?$"
)
_DURATION = re.compile(r"^\d+(?:\.\d+)?[smhdwSMHDW]?$")
_SIZE = re.compile(r"^\d+(?:\.\d+)?[kKmMgGtTpP][bB]?$")
_TRUE = {"true", "on", "yes", "1"}
_FALSE = {"false", "off", "no", "0"}


@dataclass
class FlussonicConfig:
    """What the text says: the config document, warnings, and where each key came from."""

    document: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    positions: dict[Path, tuple[int, int, str]] = field(default_factory=dict)

    def position_of(self, path: Path) -> tuple[int, int, str] | None:
        """The directive behind ``path`` or the nearest key above it."""
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return None


def parse_flussonic(text: str) -> FlussonicConfig:
    """Read Flussonic config text into a headwater config document (sans-I/O)."""
    mapper = _Mapper()
    mapper.top(parse_directives(text))
    return mapper.result


class _Mapper:
    def __init__(self) -> None:
        self.result = FlussonicConfig({})
        self.doc = self.result.document
        self.template_bodies: dict[str, tuple[Directive, dict[str, Any]]] = {}
        self.uses: list[tuple[dict[str, Any], Directive, Token]] = []

    # -- bookkeeping ---------------------------------------------------------------------

    def mark(self, path: Path, d: Directive) -> None:
        self.result.positions.setdefault(path, (d.line, d.column, d.name))

    def warn(self, d: Directive, message: str) -> None:
        self.result.warnings.append(f"line {d.line}, column {d.column}: {message}")

    def ignored(self, d: Directive, where: str) -> None:
        self.warn(d, f"directive {d.name!r} {where} is not implemented by headwater; ignored")

    # -- global --------------------------------------------------------------------------

    def top(self, directives: list[Directive]) -> None:
        for d in directives:
            handler = getattr(self, f"g_{d.name}", None)
            if d.name in LISTENER_PROTOCOLS:
                self.listener(d)
            elif d.name in UNSUPPORTED_GLOBAL:
                self.warn(d, f"directive {d.name!r} ignored: {UNSUPPORTED_GLOBAL[d.name]}")
            elif handler is not None:
                handler(d)
            else:
                self.ignored(d, "(global)")
        for entry, d, token in self.uses:
            found = self.template_bodies.get(token.text)
            if found is None:
                raise d.error(f"no template named {token.text!r}", token)
            base = {k: v for k, v in found[1].items() if k not in ("name", "prefixes")}
            merged = {**base, **entry}
            entry.clear()
            entry.update(merged)

    def listener(self, d: Directive) -> None:
        """``rtmp 1935;``, ``http 127.0.0.1:8080 [::1]:8080;``; ``key=value`` arguments
        (``cert=``, ``key=``, ``latency=``) go into each listener entry of the line."""
        no_block(d)
        ports = [t for t in d.args if "=" not in t.text]
        if not ports:
            raise d.error("expected a port, HOST:PORT or a range FIRST-LAST")
        options = {k: v for k, v, _t in key_values(d, [t for t in d.args if "=" in t.text])}
        if d.name == "rtmps" and not {"cert", "key"} <= set(options):
            raise d.error(
                "rtmps needs cert=PATH and key=PATH (an unencrypted PEM key); headwater "
                "does not read Flussonic's /etc/flussonic/flussonic.crt"
            )
        entries = self.doc.setdefault("listeners", {}).setdefault(LISTENER_PROTOCOLS[d.name], [])
        for token in ports:
            entries.append({**port_entry(d, token), **options})
            self.mark(("listeners", LISTENER_PROTOCOLS[d.name], len(entries) - 1), d)

    def g_srt_publish(self, d: Directive) -> None:
        """``srt_publish { port N; }``: an SRT listener for publishers only."""
        block = need_block(d)
        entries = self.doc.setdefault("listeners", {}).setdefault("srt", [])
        for inner in block:
            if inner.name in ("port", "ports"):
                no_block(inner)
                for token in need_args(inner, 1, None):
                    entries.append({**port_entry(inner, token), "mode": "publish"})
                    self.mark(("listeners", "srt", len(entries) - 1), inner)
            else:
                self.ignored(inner, "in the global srt_publish")

    def g_edit_auth(self, d: Directive) -> None:
        self.credentials(d, "edit_auth")

    def g_view_auth(self, d: Directive) -> None:
        self.credentials(d, "view_auth")

    def credentials(self, d: Directive, key: str) -> None:
        no_block(d)
        login, password = need_args(d, 2, 2)
        self.doc[key] = {"login": login.text, "password": password.text}
        self.mark((key,), d)

    def g_config_external(self, d: Directive) -> None:
        no_block(d)
        (url,) = need_args(d, 1, 1)
        self.doc["config_external"] = url.text
        self.mark(("config_external",), d)

    def g_loglevel(self, d: Directive) -> None:
        no_block(d)
        (level,) = need_args(d, 1, 1)
        self.doc["log_level"] = level.text
        self.mark(("log_level",), d)

    def g_event_sink(self, d: Directive) -> None:
        (name,) = need_args(d, 1, 1)
        sinks = self.doc.setdefault("event_sinks", [])
        path: Path = ("event_sinks", len(sinks))
        sink: dict[str, Any] = {"name": name.text}
        self.mark(path, d)
        for inner in need_block(d):
            no_block(inner)
            if inner.name == "url":
                sink["url"] = need_args(inner, 1, 1)[0].text
            elif inner.name in ("only", "except"):
                sink.setdefault(inner.name, []).append(event_filter(inner))
            elif inner.name in ("throttle_delay", "resend_limit", "resend_timeout"):
                sink[inner.name] = integer(inner, need_args(inner, 1, 1)[0])
            else:
                self.ignored(inner, f"in event_sink {name.text}")
                continue
            self.mark((*path, inner.name), inner)
        sinks.append(sink)

    def g_stream(self, d: Directive) -> None:
        (name,) = need_args(d, 1, 1)
        self.entry(d, "streams", {"name": name.text}, kind="stream")

    def g_template(self, d: Directive) -> None:
        (name,) = need_args(d, 1, 1)
        entry = self.entry(d, "templates", {"name": name.text}, kind="template")
        self.template_bodies[name.text] = (d, entry)
        if not entry.get("prefixes"):
            self.warn(d, f"template {name.text!r} has no prefix: it accepts no publisher")

    def g_live(self, d: Directive) -> None:
        """The legacy ``live PREFIX { ... }``: a publish location named after its prefix."""
        (prefix,) = need_args(d, 1, 1)
        name = prefix.text.strip("/")
        entry = {"name": name, "prefixes": [name], "inputs": [{"url": "publish://"}]}
        self.entry(d, "templates", entry, kind="live")

    # -- stream and template bodies ------------------------------------------------------

    def entry(self, d: Directive, key: str, entry: dict[str, Any], *, kind: str) -> dict[str, Any]:
        items = self.doc.setdefault(key, [])
        path: Path = (key, len(items))
        self.mark(path, d)
        items.append(entry)
        for inner in d.block or []:  # `stream name;` without a block is an empty stream
            handler = getattr(self, f"s_{inner.name}", None)
            if handler is None:
                self.ignored(inner, f"in {kind} {entry['name']}")
                continue
            handler(inner, entry, path, kind)
        return entry

    def add_input(self, entry: dict[str, Any], url: str) -> None:
        inputs = entry.setdefault("inputs", [])
        if not any(i.get("url") == url for i in inputs):
            inputs.append({"url": url})

    def s_input(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        no_block(d)
        url, *options = need_args(d, 1, None)
        if not url.text.startswith("publish://"):
            self.warn(
                d,
                f"input {url.text} ignored: headwater takes streams from publishers only "
                "(input publish://)",
            )
            return
        if options:
            shown = " ".join(o.text for o in options)
            self.warn(d, f"options of input publish:// ignored: {shown}")
        self.add_input(entry, "publish://")
        self.mark((*path, "inputs"), d)

    s_url = s_input

    def s_publish_enabled(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        no_block(d)
        if flag(d, need_args(d, 0, 1)):
            self.add_input(entry, "publish://")
            self.mark((*path, "inputs"), d)

    def s_prefix(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        no_block(d)
        if kind == "stream":
            raise d.error("'prefix' belongs in a template, not in a stream")
        for token in need_args(d, 1, None):
            prefixes = entry.setdefault("prefixes", [])
            if token.text.strip("/") not in prefixes:
                prefixes.append(token.text.strip("/"))
        self.mark((*path, "prefixes"), d)

    def s_password(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        no_block(d)
        entry["password"] = need_args(d, 1, 1)[0].text
        self.mark((*path, "password"), d)

    def s_on_publish(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        no_block(d)
        url, *options = need_args(d, 1, None)
        scheme = url.text.partition(":")[0]
        if scheme not in ("http", "https", "python"):
            raise d.error(
                f"{url.text!r}: headwater runs http(s):// handlers and Python callables "
                "(python:package.module:function), not Lua scripts",
                url,
            )
        handler: dict[str, Any] = {"url": url.text}
        for key, value, token in key_values(d, options):
            if key != "timeout":
                raise d.error(f"unknown on_publish option {key!r}", token)
            handler["timeout"] = value
        entry["on_publish"] = handler
        self.mark((*path, "on_publish"), d)

    def s_dvr(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        """``dvr PATH [DEPTH] [LIMIT] [key=value ...]``."""
        no_block(d)
        root, *rest = need_args(d, 1, None)
        dvr: dict[str, Any] = {"root": root.text}
        positional = [t for t in rest if "=" not in t.text]
        for key, value, _token in key_values(d, [t for t in rest if "=" in t.text]):
            dvr[key] = value
        for token in positional:
            text = token.text
            if text.endswith("%") and text[:-1].isdigit():
                dvr["disk_limit"] = int(text[:-1])
            elif _DURATION.match(text) and "expiration" not in dvr:
                dvr["expiration"] = text
            elif _SIZE.match(text) and "storage_limit" not in dvr:
                dvr["storage_limit"] = text
            else:
                raise d.error(
                    f"{text!r} is neither a depth (3d, 12h), a size limit (500G) "
                    "nor a disk share (90%)",
                    token,
                )
        entry["dvr"] = dvr
        self.mark((*path, "dvr"), d)

    def s_push(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        """``push URL [key=value ...]``."""
        no_block(d)
        url, *options = need_args(d, 1, None)
        push: dict[str, Any] = {"url": url.text}
        for key, value, _token in key_values(d, options):
            push[key] = value
        pushes = entry.setdefault("pushes", [])
        self.mark((*path, "pushes", len(pushes)), d)
        pushes.append(push)

    def s_srt_publish(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        block = need_block(d)
        srt: dict[str, Any] = {}
        for inner in block:
            no_block(inner)
            if inner.name == "passphrase":
                srt["passphrase"] = need_args(inner, 1, 1)[0].text
            elif inner.name == "pbkeylen":
                srt["pbkeylen"] = integer(inner, need_args(inner, 1, 1)[0])
            else:
                self.ignored(inner, f"in srt_publish of {entry['name']}")
                continue
            self.mark((*path, "srt_publish", inner.name), inner)
        entry["srt_publish"] = srt
        self.mark((*path, "srt_publish"), d)

    def s_srt(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        """``srt PORT;`` in a stream: a port whose publishers are this stream, whatever
        their stream id says."""
        no_block(d)
        if kind != "stream":
            self.warn(d, "'srt PORT' in a template is ignored: a port names one stream")
            return
        listeners = self.doc.setdefault("listeners", {}).setdefault("srt", [])
        for token in need_args(d, 1, None):
            port = port_entry(d, token)
            if "ports" in port:
                raise d.error("a stream's srt port is one port, not a range", token)
            listeners.append({**port, "mode": "publish", "stream": entry["name"]})
            self.mark(("listeners", "srt", len(listeners) - 1), d)

    def s_template(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        no_block(d)
        if kind != "stream":
            raise d.error("'template' is used inside a stream")
        self.uses.append((entry, d, need_args(d, 1, 1)[0]))

    def s_title(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        no_block(d)
        need_args(d, 1, None)
        entry["title"] = " ".join(d.values)
        self.mark((*path, "title"), d)

    def s_disabled(self, d: Directive, entry: dict[str, Any], path: Path, kind: str) -> None:
        no_block(d)
        entry["disabled"] = flag(d, need_args(d, 0, 1))
        self.mark((*path, "disabled"), d)


# -- argument helpers ----------------------------------------------------------------------


def need_args(d: Directive, least: int, most: int | None) -> list[Token]:
    """The arguments, checked to number between ``least`` and ``most``."""
    n = len(d.args)
    if n < least:
        want = f"{least}" if least == most else f"at least {least}"
        raise d.error(f"expected {want} argument{'s' if least != 1 else ''}, found {n}")
    if most is not None and n > most:
        raise d.error(
            f"expected at most {most} argument{'s' if most != 1 else ''}, found {n}",
            d.args[most],
        )
    return d.args


def need_block(d: Directive) -> list[Directive]:
    """The directive's ``{ ... }`` block (an error when it has none)."""
    if d.block is None:
        raise d.error("expected a '{ ... }' block")
    return d.block


def no_block(d: Directive) -> None:
    """Refuse a block where the directive takes none."""
    if d.block is not None:
        raise d.error("this directive takes no '{ ... }' block; end it with ';'")


def port_entry(d: Directive, token: Token) -> dict[str, Any]:
    """``8080``, ``127.0.0.1:8080``, ``[::1]:8080`` or ``2345-12344`` as a listener entry."""
    m = _PORT.match(token.text)
    if not m:
        raise d.error(f"{token.text!r} is not a port, HOST:PORT or FIRST-LAST", token)
    port = int(m.group("port"))
    last = m.group("last")
    if port > 65535 or (last and int(last) > 65535):
        raise d.error(f"{token.text!r}: a port is at most 65535", token)
    entry: dict[str, Any] = {}
    if m.group("host"):
        entry["host"] = m.group("host").strip("[]")
    if last:
        entry["ports"] = {"first": port, "last": int(last)}
    else:
        entry["port"] = port
    return entry


def integer(d: Directive, token: Token) -> int:
    """An integer argument."""
    if not token.text.isdigit():
        raise d.error(f"{token.text!r} is not a whole number", token)
    return int(token.text)


def flag(d: Directive, args: list[Token]) -> bool:
    """A boolean directive: present alone means true, or ``true``/``false``."""
    if not args:
        return True
    text = args[0].text.lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise d.error(f"{args[0].text!r} is not true or false", args[0])


def key_values(d: Directive, tokens: list[Token]) -> list[tuple[str, Any, Token]]:
    """``key=value`` arguments (``true``/``false`` and integers converted)."""
    out = []
    for token in tokens:
        key, sep, value = token.text.partition("=")
        if not sep or not key:
            raise d.error(f"expected key=value, found {token.text!r}", token)
        converted: Any = value
        if value.lower() in ("true", "false"):
            converted = value.lower() == "true"
        elif value.isdigit():
            converted = int(value)
        out.append((key, converted, token))
    return out


def event_filter(d: Directive) -> dict[str, list[str]]:
    """``only event=a,b media=c;`` as ``{"event": ["a", "b"], "media": ["c"]}``."""
    found: dict[str, list[str]] = {}
    for key, value, token in key_values(d, need_args(d, 1, None)):
        values = [v for v in str(value).split(",") if v]
        if not values:
            raise d.error(f"{key}= needs at least one value", token)
        found.setdefault(key, []).extend(values)
    return found
