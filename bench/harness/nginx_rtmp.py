"""nginx with ``libnginx-mod-rtmp`` as a reference RTMP server, measured like headwater.

Debian's ``/usr/sbin/nginx`` runs from a generated config in a temporary prefix (never the
system config, never port 80): one process (``master_process off``, as nginx-rtmp's live
mode wants a single worker), the RTMP module loaded from Debian's module directory, an
application ``bench`` with ``live on`` (so ``rtmp://host:port/bench/cK`` is the stream
``bench/cK``, the same URL headwater serves) and an HTTP server on another loopback port
for ``rtmp_stat``, whose per-stream ``bytes_in`` is what the harness reads. Both ports are
free ports picked just before the start. ``bytes_in`` counts the whole RTMP chunk stream
(headers too), headwater's ``wire_bytes_in`` the message payloads: a few tenths of a
percent apart at 4 KiB chunks, in nginx's favour.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import psutil

from bench.harness.free_port import free_ports
from bench.harness.target import TargetProcess

NGINX = "/usr/sbin/nginx"
MODULE_DIRS = (Path("/usr/lib/nginx/modules"), Path("/usr/share/nginx/modules"))
MODULE = "ngx_rtmp_module.so"
START_TIMEOUT = 10.0
CHUNK_SIZE = 4096


def module_path() -> Path | None:
    """Where Debian's RTMP module is, or None."""
    for d in MODULE_DIRS:
        if (d / MODULE).exists():
            return d / MODULE
    return None


def nginx_exe() -> str | None:
    """The nginx binary, or None when it is not installed."""
    return NGINX if Path(NGINX).exists() else shutil.which("nginx")


def installed() -> bool:
    """nginx and its RTMP module are both installed."""
    return nginx_exe() is not None and module_path() is not None


def nginx_config(prefix: Path, rtmp_port: int, http_port: int, module: Path) -> str:
    """The whole nginx.conf: one process, RTMP live application ``bench``, ``rtmp_stat``."""
    temp = "".join(
        f"    {kind}_temp_path {prefix / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
master_process off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
load_module {module};
events {{ worker_connections 4096; }}
rtmp {{
  server {{
    listen 127.0.0.1:{rtmp_port};
    chunk_size {CHUNK_SIZE};
    application bench {{ live on; }}
  }}
}}
http {{
    access_log off;
{temp}    server {{
        listen 127.0.0.1:{http_port};
        location /stat {{ rtmp_stat all; }}
    }}
}}
"""


class NginxRtmp(TargetProcess):
    """nginx-rtmp as a child process; a context manager that always stops it."""

    label = "nginx-rtmp"

    def __init__(self) -> None:
        module = module_path()
        exe = nginx_exe()
        if module is None or exe is None:
            raise RuntimeError("nginx with libnginx-mod-rtmp is not installed")
        self.exe = exe
        super().__init__("headwater-bench-nginx-")
        rtmp_port, http_port = free_ports(2)
        self.ports = {"rtmp": rtmp_port, "http": http_port}
        self.config = self.dir / "nginx.conf"
        self.config.write_text(nginx_config(self.dir, rtmp_port, http_port, module))
        self.log_path = self.dir / "output.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.process: psutil.Process | None = None

    def start(self) -> None:
        """Start nginx and wait until its stat page answers."""
        cmd = [self.exe, "-p", str(self.dir), "-c", str(self.config),
               "-e", str(self.dir / "error.log")]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        self.process = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                self._stat()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not start; its output:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM (nginx's fast shutdown), then SIGKILL after 10 s; safe to call twice."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        """nginx's output and error log."""
        parts = [p.read_text(errors="replace") for p in (self.log_path, self.dir / "error.log")
                 if p.exists()]  # fmt: skip
        return "\n".join(parts)

    def port(self, proto: str) -> int:
        """The RTMP (or stat HTTP) port."""
        return self.ports[proto]

    def processes(self) -> list[psutil.Process]:
        """The one nginx process."""
        assert self.process is not None
        return [self.process]

    def rss(self) -> int:
        """nginx's resident set size, bytes."""
        assert self.process is not None
        return self.process.memory_info().rss

    def _stat(self) -> ET.Element:
        url = f"http://127.0.0.1:{self.ports['http']}/stat"
        with urllib.request.urlopen(url, timeout=10) as response:
            return ET.fromstring(response.read())

    def streams(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Per stream ``app/name``: ``wire_bytes_in``, ``alive`` (a publisher is on it),
        ``online_clients`` (players) and ``drops`` (nginx-rtmp counts none: 0)."""
        out: dict[str, dict[str, Any]] = {}
        for app in self._stat().iter("application"):
            app_name = app.findtext("name", "")
            for stream in app.iter("stream"):
                name = f"{app_name}/{stream.findtext('name', '')}"
                if not name.startswith(prefix):
                    continue
                publishing = stream.find("publishing") is not None
                clients = int(stream.findtext("nclients", "0"))
                out[name] = {
                    "wire_bytes_in": int(stream.findtext("bytes_in", "0")),
                    "alive": publishing,
                    "online_clients": clients - 1 if publishing else clients,
                    "drops": 0,
                }
        return out
