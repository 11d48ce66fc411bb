"""Refresh the vendored hls.js player from the npm registry, checking its integrity hash.

    .venv/bin/python scripts/refresh_hls_js.py            # the pinned version, verified
    .venv/bin/python scripts/refresh_hls_js.py 1.7.5      # move the pin to another version

It asks the registry for the package's metadata, downloads the tarball it names, checks the
tarball against the metadata's Subresource Integrity hash (``dist.integrity``, sha512), and
writes ``dist/hls.min.js`` and ``LICENSE`` beside the web UI, with ``hls.js.version``
recording the version, the integrity hash and the SHA-256 of ``hls.min.js`` (a test checks
the committed file against it). Nothing is written when a hash does not match.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import httpx

PINNED = "1.7.4"
REGISTRY = "https://registry.npmjs.org"
STATIC = Path(__file__).resolve().parents[1] / "core/src/headwater/http/static"


def verify_integrity(data: bytes, integrity: str) -> None:
    """Raise unless ``data`` matches an SRI string such as ``sha512-<base64>``."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm not in ("sha512", "sha384", "sha256"):
        raise ValueError(f"unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise ValueError(f"integrity mismatch: registry says {integrity}, got {algorithm}-{actual}")


def member(archive: tarfile.TarFile, name: str) -> bytes:
    """One file of the npm tarball (its files are under ``package/``)."""
    handle = archive.extractfile(f"package/{name}")
    if handle is None:
        raise ValueError(f"the tarball has no package/{name}")
    return handle.read()


def refresh(version: str) -> None:
    """Download, verify and write hls.js ``version``."""
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        meta = client.get(f"{REGISTRY}/hls.js/{version}")
        meta.raise_for_status()
        info = meta.json()
        dist = info["dist"]
        tarball = client.get(dist["tarball"])
        tarball.raise_for_status()
    verify_integrity(tarball.content, dist["integrity"])
    if info.get("license") != "Apache-2.0":
        raise ValueError(f"hls.js {version} is licensed {info.get('license')!r}, not Apache-2.0")
    with tarfile.open(fileobj=io.BytesIO(tarball.content), mode="r:gz") as archive:
        player = member(archive, "dist/hls.min.js")
        licence = member(archive, "LICENSE")
    STATIC.mkdir(parents=True, exist_ok=True)
    (STATIC / "hls.min.js").write_bytes(player)
    (STATIC / "hls.js.LICENSE").write_bytes(licence)
    record = {
        "package": "hls.js",
        "version": version,
        "license": "Apache-2.0",
        "integrity": dist["integrity"],
        "sha256": hashlib.sha256(player).hexdigest(),
    }
    (STATIC / "hls.js.version").write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    print(f"hls.js {version}: integrity verified, {len(player)} bytes written to {STATIC}")


if __name__ == "__main__":
    refresh(sys.argv[1] if len(sys.argv) > 1 else PINNED)
