"""The configuration model, with Flussonic API v3 field names.

One document works as the TOML config file, as the JSON body of
``PUT /streamer/api/v3/config`` and as what a config backend returns. Read-only fields
that ``GET`` returns (``stats``, ``named_by``...) are dropped on input, not refused.
Plugins contribute their own top-level sections (validated by the models they declare in
the ``settings_sections`` hook), so unknown top-level keys are kept for them.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from headwater.config.units import Duration, Size

READ_ONLY_FIELDS = frozenset(
    {
        "stats",
        "named_by",
        "static",
        "position",
        "config_on_disk",
        "runtime",
        "location",
        "template",
        "warnings",
        "play_urls",
    }
)
"""Fields the API shows but never takes as input."""


class Model(BaseModel):
    """Base of the config models: strict about unknown keys unless a model says otherwise."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in READ_ONLY_FIELDS}
        return data


class PortRange(Model):
    """An inclusive range of ports (``{first = 2345, last = 12344}``)."""

    first: int = Field(ge=1, le=65535)
    last: int = Field(ge=1, le=65535)

    @model_validator(mode="after")
    def _ordered(self) -> PortRange:
        if self.last < self.first:
            raise ValueError(f"last ({self.last}) is below first ({self.first})")
        return self

    def __iter__(self):  # type: ignore[override]
        """Iterate over the ports of the range."""
        return iter(range(self.first, self.last + 1))

    def __len__(self) -> int:
        return self.last - self.first + 1


class ListenerSettings(Model):
    """One listener of a protocol: an address and port, or a port range (SRT)."""

    model_config = ConfigDict(extra="allow")

    host: str = "0.0.0.0"
    port: int | None = Field(default=None, ge=0, le=65535)
    ports: PortRange | None = None
    mode: str | None = None
    cert: str | None = None
    key: str | None = None

    @model_validator(mode="after")
    def _has_port(self) -> ListenerSettings:
        if self.port is None and self.ports is None:
            raise ValueError("a listener needs `port` or `ports`")
        return self

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` for a single-port listener."""
        return (self.host, self.port or 0)


class InputSettings(Model):
    """A source of a stream; ``publish://`` means publishers may push to it."""

    model_config = ConfigDict(extra="allow")

    url: str


class OnPublish(Model):
    """An authorization handler asked before each publication.

    ``url`` is an ``http(s)://`` address receiving a JSON POST, or
    ``python:package.module:function`` for an in-process callable.
    """

    url: str
    timeout: Duration = 3.0

    @model_validator(mode="before")
    @classmethod
    def _plain_url(cls, data: Any) -> Any:
        """``on_publish = "http://..."`` is the same as ``on_publish = {url = "http://..."}``."""
        return {"url": data} if isinstance(data, str) else data


class DVRSettings(Model):
    """Recording of what is published: where, how long, how much.

    ``root`` is where ``NAME/`` is recorded (relative paths are under ``data_dir``);
    ``expiration`` the archive depth; ``storage_limit`` the bytes this stream's archive may
    take; ``disk_usage_limit`` a percentage of the root's file system past which the oldest
    segments go; ``segment_duration`` the target length of one segment (cut at keyframes).
    """

    model_config = ConfigDict(extra="allow")

    root: str
    expiration: Duration | None = None
    storage_limit: Size | None = None
    disk_usage_limit: float | None = Field(
        default=None,
        gt=0,
        le=100,
        validation_alias=AliasChoices("disk_usage_limit", "disk_limit"),
    )
    """Also read as ``disk_limit`` (the ``dvr /storage 2d 90%;`` form of Flussonic's text)."""
    segment_duration: Duration = Field(default=4.0, ge=1, le=60)


class PushSettings(Model):
    """A re-publication target; ``%s`` in ``url`` becomes the stream name."""

    model_config = ConfigDict(extra="allow")

    url: str
    disabled: bool = False


class SRTPublishSettings(Model):
    """SRT publishing options of a stream (encryption passphrase, key length)."""

    model_config = ConfigDict(extra="allow")

    passphrase: str | None = Field(default=None, min_length=10, max_length=79)
    pbkeylen: int | None = None

    @field_validator("pbkeylen")
    @classmethod
    def _keylen(cls, v: int | None) -> int | None:
        if v not in (None, 0, 16, 24, 32):
            raise ValueError("pbkeylen must be 16, 24 or 32")
        return v


class StreamSettings(Model):
    """A static stream (``streams[]``) or a publish template (``templates[]``).

    Protocol plugins may read extra keys of their own from ``model_extra``.
    """

    model_config = ConfigDict(extra="allow")

    name: str
    prefixes: list[str] = Field(default_factory=list)
    inputs: list[InputSettings] = Field(default_factory=list)
    password: str | None = None
    on_publish: OnPublish | None = None
    dvr: DVRSettings | None = None
    pushes: list[PushSettings] = Field(default_factory=list)
    srt_publish: SRTPublishSettings | None = None
    takeover: bool = False
    """A second publisher replaces the live one instead of being refused."""
    disabled: bool = False

    @model_validator(mode="before")
    @classmethod
    def _legacy_publish_enabled(cls, data: Any) -> Any:
        """Flussonic's legacy ``publish_enabled = true``: the same as ``input publish://``."""
        if not isinstance(data, dict) or "publish_enabled" not in data:
            return data
        data = dict(data)
        enabled = data.pop("publish_enabled")
        if not isinstance(enabled, bool):
            raise ValueError("publish_enabled must be true or false")
        inputs = list(data.get("inputs") or [])
        has = any(
            isinstance(i, dict) and str(i.get("url", "")).startswith("publish://") for i in inputs
        )
        if enabled and not has:
            data["inputs"] = [*inputs, {"url": "publish://"}]
        elif not enabled and has:
            raise ValueError("publish_enabled = false contradicts the publish:// input")
        return data

    @property
    def publish_enabled(self) -> bool:
        """True when one of the inputs is ``publish://``."""
        return any(i.url.startswith("publish://") for i in self.inputs)


class EditAuth(Model):
    """Credentials that API writes (PUT/POST/DELETE) must present with Basic auth."""

    login: str
    password: str


class Limits(Model):
    """Explicit, configurable limits and timeouts."""

    max_streams: int = 10_000
    max_connections: int = 20_000
    """Connections one listener holds open at once (also capped by the open-files limit)."""
    queue_frames: int = Field(default=4096, ge=16)
    """Frames a consumer may fall behind before it drops to the next keyframe."""
    gop_cache_bytes: Size = 16 << 20
    dynamic_stream_ttl: Duration = 10.0
    """How long a prefix stream stays listed after its publisher leaves."""
    publish_idle_timeout: Duration = 20.0
    """A publisher that sends no frame for this long is disconnected (bytes that make no
    frame do not count)."""
    handshake_timeout: Duration = 10.0
    max_message_size: Size = 16 << 20
    """Largest protocol message (an RTMP message, an RTSP request, an HTTP API body part)."""
    message_timeout: Duration = Field(default=10.0, gt=0)
    """A message must be complete this long after its first byte arrived (RTMP/RTSP), and
    a publication's first media must arrive this long after it started; bytes that never
    finish a message do not extend it."""
    max_buffered_per_connection: Size = Field(default=32 << 20, ge=1)
    """Bytes one connection may hold for messages it has not finished."""
    max_buffered_bytes: Size = Field(default=256 << 20, ge=1)
    """Bytes all connections together may hold for unfinished messages; a connection that
    would pass it is closed."""
    max_connections_per_ip: int = Field(default=256, ge=1)
    """Connections one client address may hold open on one listener (below the open-files
    budget, so that one address cannot take every descriptor)."""
    reserved_fds: int = Field(default=128, ge=0)
    """File descriptors kept free for recordings, the API and listeners: new connections are
    refused once the open-files limit minus this is reached."""
    header_timeout: Duration = Field(default=10.0, gt=0)
    """HTTP: the request line and headers must arrive within this long."""
    keepalive_timeout: Duration = Field(default=5.0, gt=0)
    """HTTP: an idle keep-alive connection is closed after this long."""
    max_body_size: Size = Field(default=4 << 20, ge=1)
    """HTTP: largest API request body (413 beyond it); media uploads are streams and not
    bounded by it."""
    config_external_interval: Duration = 5.0
    config_external_timeout: Duration = 3.0


class EventSinkSettings(Model):
    """Where events go: an ``http(s)://`` handler (JSON batches) or ``jsonlog://PATH``.

    ``only`` and ``except`` are lists of filters; a filter maps an event field to the
    values it may have (``{event = ["stream_opened", "source_*"]}``), and an event matches
    it when every field matches one of its values.
    """

    name: str = ""
    url: str
    only: list[dict[str, list[str]]] | None = None
    except_: list[dict[str, list[str]]] | None = Field(default=None, alias="except")
    throttle_delay: Duration = 0.0
    """Seconds events gather before a batch is sent (100 waiting events go at once)."""
    resend_limit: int = Field(default=1000, ge=1, le=1_000_000)
    """Events kept for a sink that does not answer; the oldest are dropped beyond it."""
    resend_timeout: Duration = 10.0
    """Longest wait between retries to a failing HTTP sink (back-off doubles up to it)."""
    timeout: Duration = 5.0
    """Timeout of one HTTP delivery."""

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str) -> str:
        scheme, sep, rest = url.partition("://")
        if not sep or not rest:
            raise ValueError(f"{url!r} is not a URL (http://, https:// or jsonlog://PATH)")
        if scheme == "log" or scheme.endswith(".lua") or url.endswith(".lua"):
            raise ValueError(
                f"{url!r}: text-log and Lua sinks are not supported; use jsonlog://PATH or an "
                "http(s):// handler"
            )
        if scheme not in ("http", "https", "jsonlog"):
            raise ValueError(f"{url!r}: a sink URL is http://, https:// or jsonlog://PATH")
        return url

    @model_validator(mode="after")
    def _named(self) -> EventSinkSettings:
        if not self.name:
            self.name = self.url
        return self


class PluginsSettings(Model):
    """Which installed plugins to load."""

    disabled: list[str] = Field(default_factory=list)


class ServerSettings(Model):
    """The whole configuration document."""

    model_config = ConfigDict(extra="allow")

    config_external: str | None = None
    edit_auth: EditAuth | None = None
    view_auth: EditAuth | None = None
    """Credentials for reading the API and the web page (Basic auth); none: open reads."""
    event_sinks: list[EventSinkSettings] = Field(default_factory=list)
    listeners: dict[str, list[ListenerSettings]] = Field(default_factory=dict)
    streams: list[StreamSettings] = Field(default_factory=list)
    templates: list[StreamSettings] = Field(default_factory=list)
    data_dir: str = "./headwater-data"
    log_level: str = "info"
    limits: Limits = Field(default_factory=Limits)
    plugins: PluginsSettings = Field(default_factory=PluginsSettings)

    @field_validator("listeners", mode="before")
    @classmethod
    def _listener_lists(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ([v] if isinstance(v, dict) else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> ServerSettings:
        for kind in ("streams", "templates"):
            seen: set[str] = set()
            for item in getattr(self, kind):
                if item.name in seen:
                    raise ValueError(f"{kind}: name {item.name!r} is used twice")
                seen.add(item.name)
        owners: dict[str, str] = {}
        for template in self.templates:
            for prefix in template.prefixes:
                key = prefix.strip("/")
                if key in owners and owners[key] != template.name:
                    raise ValueError(
                        f"templates: prefix {key!r} is used by both {owners[key]!r} and "
                        f"{template.name!r} (only the first would ever be matched)"
                    )
                owners[key] = template.name
        sinks = [s.name for s in self.event_sinks]
        if len(sinks) != len(set(sinks)):
            raise ValueError("event_sinks: two sinks have the same name")
        return self

    def plugin_section(self, name: str) -> Any:
        """A plugin's own top-level section (raw, or validated once the server started)."""
        return (self.model_extra or {}).get(name)
