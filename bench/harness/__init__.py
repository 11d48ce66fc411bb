"""The benchmark harness: a real server in a child process, its CPU and RSS, cached clips,
the shared ingest measurement and the report every scenario prints."""

from bench.harness.client_process import run_until_stop
from bench.harness.clips import clip
from bench.harness.ingest import IngestScenario, Run
from bench.harness.report import COLUMNS, Row
from bench.harness.server import ServerProcess

__all__ = ["COLUMNS", "IngestScenario", "Row", "Run", "ServerProcess", "clip", "run_until_stop"]
