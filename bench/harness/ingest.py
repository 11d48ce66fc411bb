"""The ingest measurement every protocol scenario shares.

For each N: start a fresh ``headwater serve`` (:class:`ServerProcess`), note its idle RSS,
start N publishers (and whatever else the scenario adds, e.g. players), let them warm up,
then over a window of ``--seconds`` take the server's CPU (user + system), sample its RSS,
and read the bytes it received from the API (``wire_bytes_in``, per stream, before and
after). A publisher counts as connected when its stream is still ``alive`` at the end of the
window, took in bytes during it, has its consumers (players), and none of its clients failed
before the stop. A fresh
server per N keeps the runs apart: no names to reuse, no teardown of the previous N in the
window, an RSS baseline that is really idle.

A scenario subclasses :class:`IngestScenario` and fills in the protocol: the listeners and
template it needs, the clip, the clients (:meth:`IngestScenario.start_clients`) and its
drops/loss figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import psutil

from bench.harness.report import Row, load_text, machine, table_header, table_line
from bench.harness.sampler import Sampler
from bench.harness.server import ServerProcess

PREFIX = "bench"
STOP_GRACE = 5.0
"""Seconds the clients get to finish on their own after the stop before they are cancelled."""
READY_TIMEOUT = 10.0
"""Seconds (+ 0.1 per publisher) the harness waits after the warm-up for every stream to
be on the server with its consumers before it opens the window anyway."""
SETTLE = 2.0
"""Seconds (+ 0.02 per publisher) more when that wait was needed: clients that started
late catch up (``-re``) before the window opens."""
HEADWATER = "headwater"


class Target(Protocol):
    """A server under measurement: headwater (:class:`ServerProcess`) or a reference
    (nginx-rtmp, srt-live-transmit), started fresh for each measurement."""

    label: str

    def __enter__(self) -> Target: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def stop(self) -> None:
        """Stop the server (safe to call twice)."""

    def log(self) -> str:
        """What the server printed."""

    def processes(self) -> list[psutil.Process]:
        """The processes whose CPU and memory are the server's (summed)."""

    def rss(self) -> int:
        """The summed resident set size, bytes."""

    def streams(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Per stream name: ``wire_bytes_in``, ``alive``, ``online_clients``, ``drops``."""


@dataclass
class Run:
    """One N: the server, the stop signal and what the clients report."""

    args: argparse.Namespace
    server: Any
    """The :class:`Target` being measured (a :class:`ServerProcess` for headwater)."""
    n: int
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    counters: dict[str, int] = field(default_factory=dict)
    """Client-side counters a scenario keeps (bytes sent, bytes played, ...)."""
    failed: dict[int, str] = field(default_factory=dict)
    """Publisher index → the first error of one of its clients before the stop."""
    late: list[str] = field(default_factory=list)
    """Errors raised after the stop (while closing); reported, not counted as disconnects."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    window: tuple[dict[str, int], dict[str, int]] = field(default_factory=lambda: ({}, {}))
    """The client-side counters when the measuring window opened and when it closed."""

    def name(self, i: int) -> str:
        """The stream name of publisher ``i`` (below the bench template's prefix)."""
        return f"{PREFIX}/c{i}"

    def count(self, key: str, value: int) -> None:
        """Add ``value`` to a client-side counter."""
        self.counters[key] = self.counters.get(key, 0) + value

    def counted(self, key: str) -> int:
        """How much a client-side counter grew during the measuring window."""
        return self.window[1].get(key, 0) - self.window[0].get(key, 0)

    def spawn(self, i: int, coro: Coroutine[Any, Any, None], reader: bool = False) -> None:
        """Run a client of publisher ``i``; an error before the stop marks ``i`` failed.

        A ``reader`` (a player) is cancelled at the stop; other clients finish on their own.
        """

        async def guard() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.stop.is_set():
                    self.late.append(f"c{i}: {exc!r}")
                else:
                    self.failed.setdefault(i, f"c{i}: {exc!r}")

        (self.readers if reader else self.tasks).append(asyncio.create_task(guard()))

    async def finish(self) -> None:
        """Signal the stop; wait :data:`STOP_GRACE` for the clients, then cancel the rest."""
        self.stop.set()
        for task in self.readers:
            task.cancel()
        pending: set[asyncio.Task[None]] = set()
        if self.tasks:
            _done, pending = await asyncio.wait(self.tasks, timeout=STOP_GRACE)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self.tasks, *self.readers, return_exceptions=True)


class IngestScenario:
    """Base of the protocol scenarios: the common flags and the measuring loop."""

    name = ""
    summary = ""
    protos: tuple[str, ...] = ()
    default_publishers: tuple[int, ...] = (1, 10, 30)
    all_argv: tuple[str, ...] = ()
    """The flags ``python -m bench all`` runs this scenario with (the issue's N values)."""
    log_level = "warning"
    references: tuple[str, ...] = ()
    """Reference servers this scenario can also measure (when installed), by label."""

    # -- what a scenario fills in -------------------------------------------------------

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Flags of this scenario only."""

    def template(self, args: argparse.Namespace) -> str:
        """The body of the ``[[templates]]`` table that accepts the publishers."""
        return f'name = "{PREFIX}"\nprefixes = ["{PREFIX}"]\ninputs = [{{ url = "publish://" }}]\n'

    def sections(self, args: argparse.Namespace) -> str:
        """Extra TOML sections of the server config (plugin settings)."""
        return ""

    def prepare(self, args: argparse.Namespace) -> str:
        """Make or load the clip; return one line describing it."""
        raise NotImplementedError

    def warmup(self, args: argparse.Namespace, n: int) -> float:
        """Seconds from the first client's start to the measuring window."""
        return args.warmup if args.warmup is not None else 2.0

    async def start_clients(self, run: Run) -> None:
        """Start the clients of ``run.n`` publishers with :meth:`Run.spawn`."""
        raise NotImplementedError

    def consumers(self, args: argparse.Namespace) -> int:
        """Consumers (players) each stream must have at the end of the window."""
        return 0

    def drops_loss(self, run: Run, stats: dict[str, dict[str, Any]], log: str) -> str:
        """The drops/loss cell: by default the frames consumers dropped (API ``drops``)."""
        return f"drops {sum(s['drops'] for s in stats.values())}"

    def notes(self, run: Run, window: float) -> str:
        """Anything else worth a look (the notes cell)."""
        return ""

    def installed_references(self) -> list[str]:
        """The references of :attr:`references` installed on this machine."""
        return []

    def reference(self, args: argparse.Namespace, n: int, label: str) -> Target:
        """A reference server ready to be started for ``n`` publishers."""
        raise KeyError(label)

    def target(self, args: argparse.Namespace, n: int, label: str) -> Target:
        """The server to measure: headwater from a generated config, or a reference."""
        if label == HEADWATER:
            return ServerProcess(self.template(args), list(self.protos), self.sections(args),
                                 self.log_level)  # fmt: skip
        return self.reference(args, n, label)

    # -- the common part ----------------------------------------------------------------

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The flags every ingest scenario takes, then its own."""
        parser.add_argument("--publishers", type=int, nargs="+",
                            default=list(self.default_publishers),
                            help="N values, one measurement each")  # fmt: skip
        parser.add_argument("--mbps", type=float, default=4.0, help="video bitrate per publisher")
        parser.add_argument("--seconds", type=float, default=15.0, help="measuring window")
        parser.add_argument("--warmup", type=float, help="seconds before the window")
        parser.add_argument("--size", default="1280x720", help="picture size of the clip")
        parser.add_argument("--clip-seconds", type=float, default=10.0, help="clip length")
        parser.add_argument("--cache-dir", type=Path, help="where clips are kept")
        parser.add_argument("--json", type=Path, help="also write the rows to this file")
        parser.add_argument("--targets", nargs="+", choices=[HEADWATER, *self.references],
                            help="servers to measure (default: headwater and every installed "
                            "reference server)")  # fmt: skip
        parser.add_argument("--repeat", type=int, default=1,
                            help="measurements per N and server; the median is kept")  # fmt: skip
        self.add_options(parser)

    def targets(self, args: argparse.Namespace) -> list[str]:
        """The servers to measure: ``--targets``, else headwater and installed references."""
        return list(args.targets or [HEADWATER, *self.installed_references()])

    def run(self, args: argparse.Namespace) -> list[Row]:
        """Measure each N on each server (``--repeat`` times, interleaved), print each
        measurement as it comes, then the table of medians with the ratio column; return
        the median rows."""
        targets = self.targets(args)
        print(f"\n### {self.name}: {self.summary}\n", flush=True)
        print(f"- clip: {self.prepare(args)}")
        print(f"- servers: {', '.join(targets)}")
        print(f"- machine: {machine()}")
        print(f"- before: {load_text()}\n", flush=True)
        print(table_header(), flush=True)
        rows = []
        for n in args.publishers:
            measured: dict[str, list[Row]] = {t: [] for t in targets}
            for _ in range(max(args.repeat, 1)):
                for label in targets:
                    row = self.measure(args, n, label)
                    measured[label].append(row)
                    print(table_line(row), flush=True)
            medians = [median_row(measured[t]) for t in targets]
            set_ratios(medians)
            rows += medians
        if args.repeat > 1 or len(targets) > 1:
            print(f"\nmedian of {args.repeat} per row; ratio = CPU-s/GB ÷ the reference's\n")
            print(table_header())
            for row in rows:
                print(table_line(row))
        print(f"\n- after: {load_text()}", flush=True)
        for row in rows:
            for error in row.errors:
                print(f"- {row.server} N={row.n}: {error}")
        if args.json:
            doc = {"scenario": self.name, "machine": machine(), "args": _jsonable(vars(args)),
                   "rows": [r.to_json() for r in rows]}  # fmt: skip
            args.json.write_text(json.dumps(doc, indent=1))
        return rows

    def measure(self, args: argparse.Namespace, n: int, label: str = HEADWATER) -> Row:
        """One N with a fresh server (headwater or a reference)."""
        with self.target(args, n, label) as server:
            server.streams()  # the first API call imports what the API needs
            time.sleep(0.5)
            baseline = server.rss()
            run = Run(args, server, n)
            try:
                row, after = _run_loop(self._window(run, baseline))
            except Exception as exc:
                tail = "\n".join(server.log().splitlines()[-20:])
                raise RuntimeError(f"N={n}: {exc!r}; the server's last words:\n{tail}") from exc
            server.stop()  # the SRT plugin logs a caller's loss counters when it leaves
            log = server.log()
            row.drops_loss = self.drops_loss(run, after, log)
            if row.connected < n:  # say why, in the server's words
                row.errors += complaints(log)[:3]
        return row

    async def ready(self, run: Run, timeout: float) -> bool:
        """Wait until every stream is alive on the server with its consumers (at most
        ``timeout`` seconds); True when they already were at the first look."""
        deadline = time.monotonic() + timeout
        want = self.consumers(run.args)
        first = True
        while time.monotonic() < deadline and not run.stop.is_set():
            try:
                streams = await asyncio.to_thread(run.server.streams, PREFIX + "/")
            except OSError:  # a slow answer (urllib's timeouts are OSErrors): ask again
                first = False
                continue
            ok = all(
                (s := streams.get(run.name(i))) is not None
                and s["alive"]
                and s["online_clients"] >= want
                for i in range(run.n)
            )
            if ok:
                return first
            first = False
            await asyncio.sleep(0.5)
        return False

    async def _window(self, run: Run, baseline: int) -> tuple[Row, dict[str, dict[str, Any]]]:
        args, server, n = run.args, run.server, run.n
        t0 = time.monotonic()
        try:
            await self.start_clients(run)
            await asyncio.sleep(max(0.0, self.warmup(args, n) - (time.monotonic() - t0)))
            if not await self.ready(run, READY_TIMEOUT + 0.1 * n):
                await asyncio.sleep(SETTLE + 0.02 * n)
            before = await asyncio.to_thread(server.streams, PREFIX + "/")
            sampler = Sampler(server.processes())
            sampler.start()
            opened = dict(run.counters)
            await asyncio.sleep(args.seconds)
            window = sampler.stop()
            run.window = (opened, dict(run.counters))
            after = await asyncio.to_thread(server.streams, PREFIX + "/")
        finally:
            await run.finish()
        connected = 0
        gained = 0
        for i in range(n):
            stats = after.get(run.name(i))
            if stats is None:
                run.failed.setdefault(i, f"c{i}: no stream {run.name(i)} in the API")
                continue
            got = stats["wire_bytes_in"] - before.get(run.name(i), {}).get("wire_bytes_in", 0)
            gained += got
            if not stats["alive"] or got <= 0:
                run.failed.setdefault(i, f"c{i}: stream alive={stats['alive']}, {got} bytes in")
            elif stats["online_clients"] < self.consumers(args):
                run.failed.setdefault(i, f"c{i}: {stats['online_clients']} consumers")
            elif i not in run.failed:
                connected += 1
        errors = [run.failed[i] for i in sorted(run.failed)][:3] + run.late[:3]
        row = Row(
            server=server.label,
            n=n,
            window=window.seconds,
            bytes_in=gained,
            cpu_seconds=window.cpu_seconds,
            system_seconds=window.system_seconds,
            rss_baseline=baseline,
            rss_peak=window.rss_peak,
            rss_mean=window.rss_mean,
            connected=connected,
            drops_loss="",
            load=os.getloadavg(),
            notes=self.notes(run, window.seconds),
            errors=errors,
        )
        return row, after


def median_row(rows: list[Row]) -> Row:
    """The row of median CPU-s/GB (the lower middle one of an even count)."""
    ordered = sorted(rows, key=lambda r: (r.cpu_per_gb != r.cpu_per_gb, r.cpu_per_gb))
    row = ordered[(len(ordered) - 1) // 2]
    row.runs = [r.cpu_per_gb for r in rows]
    return row


def set_ratios(rows: list[Row]) -> None:
    """Each row's CPU-s/GB over the reference's at the same N (the first row not
    headwater's); with no reference among them, the ratio stays empty."""
    reference = next((r for r in rows if r.server != HEADWATER), None)
    if reference is None or not reference.cpu_per_gb > 0:
        return
    for row in rows:
        row.ratio = row.cpu_per_gb / reference.cpu_per_gb


def complaints(log: str) -> list[str]:
    """The server's warning and error lines."""
    return [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line]


def _run_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run the clients on uvloop when installed (they share the 2 cores with the server)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
