"""The ``headwater`` command: ``serve``, ``plugins``, ``check-config``."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import anyio
import typer

from headwater import gc_policy
from headwater.errors import ConfigError, PluginError
from headwater.log_text import LogFormatter

app = typer.Typer(
    name="headwater",
    help="headwater: a live-video ingest server (RTMP, RTSP, SRT, MPEG-TS over HTTP).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def parse_listen(values: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Turn ``--listen PROTO=[HOST:]PORT`` flags into listener config (``off`` disables)."""
    listeners: dict[str, list[dict[str, Any]]] = {}
    for value in values:
        proto, sep, spec = value.partition("=")
        proto = proto.strip().lower()
        if not sep or not proto or not spec:
            raise typer.BadParameter(
                f"{value!r}: expected PROTO=[HOST:]PORT or PROTO=off", param_hint="--listen"
            )
        if spec.strip().lower() == "off":
            listeners[proto] = []
            continue
        host, _, port = spec.rpartition(":")
        host = host.strip("[]") or "0.0.0.0"
        if not port.isdigit() or int(port) > 65535:
            raise typer.BadParameter(
                f"{value!r}: {port!r} is not a port number", param_hint="--listen"
            )
        listeners.setdefault(proto, []).append({"host": host, "port": int(port)})
    return listeners


def setup_logging(level: str, log_format: str = "text") -> None:
    """One line per event on stderr: time, level, logger, message (or JSON, one per line),
    the HTTP server's lines too, control characters escaped so that no client can forge a
    line."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        from headwater.log_format import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(LogFormatter())
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO), handlers=[handler], force=True
    )


def _version(value: bool) -> None:
    if value:
        import importlib.metadata

        print(f"headwater {importlib.metadata.version('headwater')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version"),
    ] = False,
) -> None:
    """headwater: a live-video ingest server (RTMP, RTSP, SRT, MPEG-TS over HTTP)."""


def fail(message: str) -> None:
    """Print an error without a traceback and exit 1."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.command()
def serve(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file: TOML, JSON or Flussonic's syntax"),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="State and recordings")
    ] = None,
    listen: Annotated[
        list[str] | None,
        typer.Option(
            "--listen",
            "-l",
            help="PROTO=[HOST:]PORT (repeatable; port 0 = any free port; PROTO=off)",
        ),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="debug, info, warning, error")
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="text, or json (one object per line)")
    ] = "text",
) -> None:
    """Run the server (with no --config, the embedded default config)."""
    from headwater.config.loading import load_settings
    from headwater.plugins import describe_plugins, validate_plugin_sections
    from headwater.server import Server

    overrides: dict[str, Any] = {}
    if log_level:
        overrides["log_level"] = log_level
    if log_format not in ("text", "json"):
        raise typer.BadParameter("expected text or json", param_hint="--log-format")
    warnings: list[str] = []
    try:
        settings = load_settings(config, overrides, data_dir=data_dir, warnings=warnings)
        if listen:
            settings.listeners = {**settings.listeners, **_listener_models(parse_listen(listen))}
        setup_logging(settings.log_level, log_format)
        for line in warnings:
            logging.getLogger("headwater.config").warning("%s: %s", config, line)
        server = Server(settings)
        validate_plugin_sections(server.pm, settings)
    except (ConfigError, PluginError) as exc:
        fail(str(exc))
    for info in describe_plugins(server.pm):
        if not info.builtin:
            print(f"plugin {info.name} {info.version} ({', '.join(info.hooks)})", flush=True)
    try:
        anyio.run(_serve, server, backend="asyncio", backend_options={"use_uvloop": _has_uvloop()})
    except KeyboardInterrupt:
        pass
    except BaseException as exc:
        cause = first_leaf(exc)
        if isinstance(cause, ConfigError | PluginError):
            fail(str(cause))
        if isinstance(cause, OSError):
            fail(str(cause.strerror or cause))
        raise


def first_leaf(exc: BaseException) -> BaseException:
    """The first non-group exception inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _listener_models(raw: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    from headwater.config.models import ListenerSettings

    return {
        proto: [ListenerSettings.model_validate(e) for e in entries]
        for proto, entries in raw.items()
    }


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


async def _serve(server: Any) -> None:
    log = logging.getLogger("headwater")
    async with anyio.create_task_group() as tg:

        async def on_signals() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    log.info("received %s; stopping", signal.Signals(signum).name)
                    server.stop()
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(on_signals)
        await tg.start(server.serve)
        log.info("headwater is running (data in %s)", server.data_dir)
        gc_policy.apply()


@app.command()
def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """List the loaded plugins, their versions and the hooks each implements."""
    from headwater.plugins import describe_plugins, make_plugin_manager

    try:
        infos = describe_plugins(make_plugin_manager())
    except PluginError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps([dataclasses.asdict(info) for info in infos], indent=2))
        return
    for info in infos:
        kind = "built-in" if info.builtin else info.version
        print(f"{info.name:40} {kind:10} {', '.join(info.hooks)}")


@app.command("check-config")
def check_config(
    file: Annotated[
        Path, typer.Argument(help="Config file to validate (TOML, JSON or Flussonic's syntax)")
    ],
) -> None:
    """Validate a config file; print warnings, and each error with its key path or line.

    Exits 1 when there is an error; warnings (ignored Flussonic directives) do not fail.
    """
    from headwater.config.loading import load_settings
    from headwater.plugins import make_plugin_manager, validate_plugin_sections

    warnings: list[str] = []
    try:
        settings = load_settings(file, use_persisted=False, warnings=warnings)
        _print_warnings(file, warnings)
        pm = make_plugin_manager(disabled=settings.plugins.disabled)
        validate_plugin_sections(pm, settings)
    except (ConfigError, PluginError) as exc:
        _print_warnings(file, warnings)
        for line in str(exc).splitlines():
            line = line.removeprefix(f"{file}: ")  # reading errors already name the file
            typer.secho(f"{file}: {line}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    print(f"{file}: ok")


def _print_warnings(file: Path, warnings: list[str]) -> None:
    for line in warnings:
        typer.secho(f"{file}: warning: {line}", fg=typer.colors.YELLOW, err=True)
    warnings.clear()


from headwater.cli_remote import stop_command, streams_command  # noqa: E402

app.command("streams")(streams_command)
app.command("stop")(stop_command)


def main() -> None:
    """Entry point of the ``headwater`` script."""
    app()
