"""Smoke tests of ``python -m bench``: every scenario's flags parse, and each ingest scenario
measures a tiny run (N = 1, 2 s, a small clip) end to end against a real server.

Nothing here looks at a timing: the assertions are about the report (its rows and columns)
and about bytes the server really took in, so they cannot flake on a busy machine.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import psutil
import pytest

from bench.__main__ import listing, main, parser_for, run
from bench.harness import COLUMNS, Row, nginx_rtmp
from bench.harness import srt_live_transmit as slt
from bench.harness.ingest import median_row, set_ratios
from bench.harness.nginx_rtmp import nginx_config
from bench.harness.report import table_header, table_line
from bench.harness.sampler import Sampler
from bench.scenarios import NAMES, load

pytestmark = pytest.mark.e2e

TINY = ["--publishers", "1", "--seconds", "2", "--warmup", "1", "--size", "320x180",
        "--mbps", "1", "--clip-seconds", "3"]  # fmt: skip
HEADWATER_ONLY = ["--targets", "headwater"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clip cache for the module (the clips are made once)."""
    return tmp_path_factory.mktemp("bench-cache")


def test_listing_names_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert re.search(rf"^  {name} ", out, re.MULTILINE), name
    assert listing().count("\n") == len(NAMES)


def test_unknown_scenario_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    assert "no scenario 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("name", NAMES)
def test_all_argv_parses(name: str) -> None:
    """The flags ``python -m bench all`` passes are valid for each scenario."""
    parser_for(name).parse_args(list(load(name).all_argv))


def test_issue_n_values() -> None:
    """``all`` runs the N values the issues ask for."""
    expected = {"rtmp": [1, 10, 30, 60], "srt": [1, 10, 30], "http_mpegts": [1, 10, 30]}
    expected["rtsp"] = [1, 10, 30]
    for name, ns in expected.items():
        assert parser_for(name).parse_args(list(load(name).all_argv)).publishers == ns


def test_rtmp_flags() -> None:
    """The rtmp scenario's flags, including the server's batching settings."""
    args = parser_for("rtmp").parse_args(
        [
            "--publishers",
            "1",
            "10",
            "--mbps",
            "3",
            "--seconds",
            "5",
            "--read-interval",
            "0.05",
            "--play-interval",
            "0.2",
        ]
    )
    assert (args.publishers, args.mbps, args.seconds) == ([1, 10], 3.0, 5.0)
    section = load("rtmp").sections(args)
    assert "read_interval = 0.05" in section and "play_interval = 0.2" in section


def test_table_has_every_column() -> None:
    row = Row(n=2, window=2.0, bytes_in=10**6, cpu_seconds=0.5, system_seconds=0.1,
              rss_baseline=10**7, rss_peak=2 * 10**7, rss_mean=15 * 10**6, connected=2,
              drops_loss="drops 0", load=(1.0, 0.5, 0.25))  # fmt: skip
    header = table_header().splitlines()[0]
    assert header == "| " + " | ".join(COLUMNS) + " |"
    cells = table_line(row).strip("|").split("|")
    assert len(cells) == len(COLUMNS)
    assert [c.strip() for c in cells[:8]] == [
        "headwater", "2", "4.0", "25.0", "500.00", "", "5.00", "2/2"
    ]  # fmt: skip
    assert cells[-1].strip() == "20% kernel"
    row.ratio = 1.25
    assert table_line(row).strip("|").split("|")[5].strip() == "1.25x"


def test_median_and_ratio() -> None:
    """The median row of the repeats is kept; the ratio divides by the reference's."""

    def row(server: str, cpu: float) -> Row:
        return Row(n=1, window=1.0, bytes_in=10**9, cpu_seconds=cpu, system_seconds=0.0,
                   rss_baseline=0, rss_peak=0, rss_mean=0, connected=1, drops_loss="",
                   load=(0.0, 0.0, 0.0), server=server)  # fmt: skip

    ours = median_row([row("headwater", c) for c in (9.0, 3.0, 6.0)])
    theirs = median_row([row("nginx-rtmp", c) for c in (4.0, 5.0)])
    assert (ours.cpu_per_gb, ours.runs) == (6.0, [9.0, 3.0, 6.0])
    assert theirs.cpu_per_gb == 4.0  # the lower middle of an even count
    set_ratios([ours, theirs])
    assert (ours.ratio, theirs.ratio) == (1.5, 1.0)
    alone = row("headwater", 2.0)
    set_ratios([alone])
    assert alone.ratio is None


def test_nginx_config_stays_in_its_prefix(tmp_path: Path) -> None:
    """The generated nginx.conf binds loopback ports only and writes nowhere else."""
    text = nginx_config(tmp_path, 41000, 41001, Path("/usr/lib/nginx/modules/x.so"))
    listens = re.findall(r"listen ([^;]+);", text)
    assert listens == ["127.0.0.1:41000", "127.0.0.1:41001"]
    paths = re.findall(r"(?:pid|error_log|_temp_path) (\S+?)[;\s]", text)
    assert len(paths) == 7 and all(p.startswith(str(tmp_path)) for p in paths)
    assert "daemon off;" in text and "master_process off;" in text


def _check(rows: list[Row], out: str) -> Row:
    """One row for N = 1, connected, with bytes the server counted; the table printed."""
    assert len(rows) == 1
    row = rows[0]
    assert (row.n, row.connected, row.errors) == (1, 1, [])
    assert row.bytes_in > 100_000  # ≥ 2 s at ~1 Mbit/s went through the server
    # RSS is sampled: both samples exist; the peak need not exceed the baseline in a tiny
    # run (housekeeping gives freed memory back to the system with malloc_trim)
    # a server that only demuxes 1 Mbit/s may use less than one clock tick (10 ms) in the
    # 2 s window: that CPU is counted at all is test_sampler_counts_cpu_and_rss's
    assert row.cpu_seconds >= 0 and row.rss_peak > 0 and row.rss_baseline > 0
    assert table_header() in out
    line = r"^\| headwater \| 1 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \S* \| -?[\d.]+ \| 1/1 \|"
    assert re.search(line, out, re.M)
    return row


def test_http_mpegts_tiny_run(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = run("http_mpegts", [*TINY, *HEADWATER_ONLY, "--cache-dir", str(cache)])
    row = _check(rows, capsys.readouterr().out)
    assert row.drops_loss == "drops 0"


def test_http_mpegts_asyncio_clients(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = run("http_mpegts", [*TINY, "--client", "asyncio", "--cache-dir", str(cache)])
    _check(rows, capsys.readouterr().out)


def test_rtmp_tiny_run(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = run("rtmp", [*TINY, *HEADWATER_ONLY, "--client", "asyncio", "--cache-dir", str(cache)])
    row = _check(rows, capsys.readouterr().out)
    played = re.fullmatch(r"\d+% kernel; players read ([\d.]+) Mbit/s", row.cells()[-1])
    assert played and float(played[1]) > 0


def test_rtmp_dvr_tiny_run(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With ``--dvr`` the notes give the archive's size over the ingest and the loop's share."""
    args = [*TINY, *HEADWATER_ONLY, "--client", "asyncio", "--cache-dir", str(cache), "--dvr"]
    row = _check(run("rtmp", args), capsys.readouterr().out)
    notes = row.cells()[-1]
    ratio = re.search(r"archive/ingest ([\d.]+); loop thread (\d+)% of CPU", notes)
    assert ratio and 0.5 < float(ratio[1]) < 1.2 and 0 < int(ratio[2]) <= 100, notes


def test_srt_tiny_run(cache: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = tmp_path / "srt.json"
    argv = [*TINY, *HEADWATER_ONLY, "--cache-dir", str(cache), "--json", str(report)]
    rows = run("srt", argv)
    row = _check(rows, capsys.readouterr().out)
    loss = re.fullmatch(r"lost (\d+), recovered (\d+), late (\d+) of (\d+) pkts", row.drops_loss)
    assert loss and int(loss[4]) > 100  # the server logged the caller's packets when it left
    assert '"connected": 1' in report.read_text()


@pytest.mark.skipif(not nginx_rtmp.installed(), reason="nginx with libnginx-mod-rtmp absent")
def test_rtmp_against_nginx(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ffmpeg publishers into headwater and nginx-rtmp in one run, with the ratio."""
    argv = [*TINY, "--targets", "headwater", "nginx-rtmp", "--cache-dir", str(cache)]
    rows = run("rtmp", argv)
    assert [r.server for r in rows] == ["headwater", "nginx-rtmp"]
    assert all(r.connected == 1 and r.bytes_in > 100_000 for r in rows), rows
    if rows[1].cpu_seconds > 0:  # nginx may use less than one clock tick in 2 s
        assert rows[1].ratio == 1.0
        assert rows[0].ratio == rows[0].cpu_per_gb / rows[1].cpu_per_gb
    else:
        assert rows[0].ratio is None and rows[1].ratio is None
    assert "| nginx-rtmp | 1 |" in capsys.readouterr().out


@pytest.mark.skipif(not slt.installed(), reason="srt-live-transmit (srt-tools) absent")
def test_srt_against_srt_live_transmit(cache: Path) -> None:
    """One srt-live-transmit per caller, its statistics read for bytes and loss."""
    argv = [*TINY, "--targets", "srt-live-transmit", "--cache-dir", str(cache)]
    (row,) = run("srt", argv)
    assert (row.server, row.connected) == ("srt-live-transmit", 1)
    assert row.bytes_in > 100_000
    assert re.fullmatch(r"lost \d+, retransmitted \d+, late \d+ of \d+ pkts", row.drops_loss)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_rtsp_tiny_run(cache: Path, capsys: pytest.CaptureFixture[str], transport: str) -> None:
    rows = run("rtsp", [*TINY, "--cache-dir", str(cache), "--transport", transport])
    row = _check(rows, capsys.readouterr().out)
    assert re.fullmatch(r"lost \d+, dropped \d+, malformed 0 pkts", row.drops_loss)


def test_codec_scenarios_run(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ts = run("ts_codec", ["--seconds", "1", "--repeat", "1", "--size", "320x180",
                          "--cache-dir", str(cache)])  # fmt: skip
    assert set(ts) == {"demux 65536", "demux 1316", "mux", "mux, batches",
                       "segment, frame by frame", "segment, batches"}  # fmt: skip
    assert min(ts.values()) > 0
    rtmp = run("rtmp_codec", ["--seconds", "2", "--size", "320x180", "--mbps", "1",
                              "--clip-seconds", "3", "--cache-dir", str(cache)])  # fmt: skip
    assert set(rtmp) == {"whole path", "chunk parse", "demux", "fan-out", "play"}
    assert min(rtmp.values()) > 0
    out = capsys.readouterr().out
    assert "MB/s" in out and "CPU-s/GB" in out


def test_rtsp_codec_tiny_run(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real ffmpeg's RTSP/TCP publish is captured once, then replayed without sockets."""
    figures = run("rtsp_codec", ["--seconds", "2", "--size", "320x180", "--mbps", "1",
                                 "--clip-seconds", "2", "--repeat", "1",
                                 "--cache-dir", str(cache)])  # fmt: skip
    assert set(figures) == {"whole path", "reader alone", "packet by packet"}
    assert min(figures.values()) > 0
    out = capsys.readouterr().out
    assert "interleaved packets" in out and "frames out" in out


def test_dvr_index_tiny_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    figures = run("dvr_index", ["--days", "1", "--queries", "20", "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "21599 segments (1 days)" in out and "| one segment by start |" in out
    assert set(figures) >= {"1-hour window (playlist)", "one segment by start"}
    assert all(micros > 0 for micros in figures.values())


def test_dvr_write_tiny_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The recording path alone: every byte fed reaches the archive, CPU is measured."""
    args = ["--publishers", "3", "--seconds", "1", "--warmup", "0.5", "--mbps", "1"]
    (row,) = run("dvr_write", [*args, "--segment-duration", "1", "--dir", str(tmp_path)])
    assert row["n"] == 3 and row["archive_ratio"] == 1.0
    assert row["cpu_per_gb"] > 0 and row["mbs"] > 0
    assert "| 3 |" in capsys.readouterr().out


def test_dvr_write_mux_tiny_run(
    cache: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--mux``: the clip's frames through the real segmenter; every frame is archived
    (as TS: a few percent more bytes than the frames' payload)."""
    args = ["--publishers", "2", "--seconds", "1", "--warmup", "0.5", "--mux"]
    extra = ["--segment-duration", "1", "--dir", str(tmp_path), "--cache-dir", str(cache)]
    (row,) = run("dvr_write", [*args, *extra])
    assert row["n"] == 2 and 1.0 < row["archive_ratio"] < 1.1
    assert row["cpu_per_gb"] > 0 and row["mbs"] > 0
    assert "| 2 |" in capsys.readouterr().out


def test_dvr_write_parts_and_gather(
    cache: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``--parts`` splits the path's CPU by part (the muxing and the file writes are never
    free; the parts of the writer thread add up to it); ``--gather`` sets the tick; the
    wrapped functions are put back afterwards."""
    from headwater.media.segmenter import Segmenter
    from headwater_dvr import writer

    feed_many, write_all = Segmenter.feed_many, writer.write_all
    args = ["--publishers", "2", "--seconds", "1.5", "--warmup", "0.5", "--mux", "--parts"]
    extra = ["--gather", "0.2", "--segment-duration", "1", "--dir", str(tmp_path),
             "--cache-dir", str(cache)]  # fmt: skip
    (row,) = run("dvr_write", [*args, *extra])
    parts = row["parts"]
    assert 1.0 < row["archive_ratio"] < 1.1
    assert parts["mux"] > 0 and parts["write"] > 0 and parts["recorders"] >= 0
    assert parts["writer"] >= parts["write"] + parts["create"] + parts["index"]
    assert "CPU by part" in capsys.readouterr().out
    assert (Segmenter.feed_many, writer.write_all) == (feed_many, write_all)


@pytest.mark.parametrize("client", ["asyncio", "ffmpeg"])
def test_rtmp_hls_tiny_run(cache: Path, capsys: pytest.CaptureFixture[str], client: str) -> None:
    """Either kind of publisher, read over HLS (``--client ffmpeg`` once crashed here)."""
    args = [*TINY, "--cache-dir", str(cache), "--segment-duration", "1", "--warmup", "4",
            "--client", client]  # fmt: skip
    rows = run("rtmp_hls", args)
    row = _check(rows, capsys.readouterr().out)
    notes = row.cells()[-1]
    read = re.search(r"HLS readers read ([\d.]+) Mbit/s", notes)
    assert read and float(read[1]) > 0, notes


def test_rtmp_hls_warmup_counts_from_the_readers() -> None:
    """The window opens once every HLS holds its whole window of segments, counted from
    when the readers started (ffmpeg publishers may take longer than the warm-up to
    appear); ``--warmup`` still counts from the first publisher."""
    scenario = type(load("rtmp_hls"))()  # a fresh one: the module's has run before
    args = parser_for("rtmp_hls").parse_args(["--segment-duration", "2"])
    assert scenario.warmup(args, 30) == pytest.approx(1.5 + 1.5 + 6 * 2)  # before the clients
    scenario.readers_after = 14.0
    assert scenario.warmup(args, 30) == pytest.approx(14.0 + 1.5 + 6 * 2)
    args = parser_for("rtmp_hls").parse_args(["--warmup", "7"])
    assert scenario.warmup(args, 30) == 7


def test_hls_serve_tiny_run(capsys: pytest.CaptureFixture[str]) -> None:
    figures = run("hls_serve", ["--requests", "20"])
    out = capsys.readouterr().out
    assert "| media |" in out and "| segment |" in out
    assert set(figures["app"]) == set(figures["whole"]) == {"master", "media", "segment", "missing"}
    assert all(us > 0 for us in figures["app"].values())


def test_hls_windows_tiny_run(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Both windows, and the MPEG-TS one in the live HLS's batches: fewer wake-ups."""
    figures = run("hls_windows", ["--seconds", "4", "--repeat", "1", "--cache-dir", str(cache)])
    out = capsys.readouterr().out
    batches = [int(n) for n in re.findall(r"(\d+) batches\)", out)]
    assert len(batches) == 2 and 0 < batches[1] < batches[0], out
    assert all(mbs > 0 for mbs in figures.values()) and len(figures) == 4


def test_sampler_counts_cpu_and_rss() -> None:
    """The window's CPU is what the process used between start and stop (here a busy
    loop of at least 0.2 s of this process's own CPU), and RSS is sampled."""
    sampler = Sampler(psutil.Process())
    sampler.start()
    begin = time.process_time()
    while time.process_time() - begin < 0.2:
        sum(range(1000))
    window = sampler.stop()
    assert 0.15 <= window.cpu_seconds < 5 and 0 <= window.system_seconds <= window.cpu_seconds
    assert window.seconds >= 0.15 and window.rss_peak > 0
