"""Test clips made once by the bundled ffmpeg and cached under ``bench/.cache/``.

Every ingest scenario publishes the same kind of picture: 720p noisy ``testsrc2`` (so x264
cannot make it tiny) in H.264 at a constant ``mbps``, plus 128 kbit/s AAC of a sine. The
MPEG-TS clip is encoded; the FLV clip is the same packets remuxed (``-c copy``), so RTMP,
SRT and HTTP ingest the same media. A file's name carries every parameter, and it is
written under a temporary name and renamed, so concurrent runs never read half a clip.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import imageio_ffmpeg

CACHE = Path(__file__).resolve().parent.parent / ".cache"
FORMATS = {"mpegts": "ts", "flv": "flv"}


def clip(
    fmt: str,
    *,
    mbps: float = 4.0,
    seconds: float = 10.0,
    size: str = "1280x720",
    bufsize: str | None = None,
    cache: Path | None = None,
) -> Path:
    """The path of an H.264 + AAC clip in ``fmt`` (``mpegts`` or ``flv``), made if missing.

    ``bufsize`` is the x264 VBV buffer (default: one second of ``mbps``).
    """
    cache = cache or CACHE
    cache.mkdir(parents=True, exist_ok=True)
    buf = bufsize or f"{mbps:g}M"
    stem = f"testsrc2-{size}-{mbps:g}M-buf{buf}-{seconds:g}s"
    path = cache / f"{stem}.{FORMATS[fmt]}"
    if path.exists():
        return path
    ff = imageio_ffmpeg.get_ffmpeg_exe()
    if fmt == "mpegts":
        rate = f"{mbps:g}M"
        args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", f"{seconds:g}",
                "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
                "-b:v", rate, "-maxrate", rate, "-bufsize", buf, "-g", "60",
                "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "mpegts"]  # fmt: skip
    else:
        source = clip("mpegts", mbps=mbps, seconds=seconds, size=size, bufsize=bufsize, cache=cache)
        args = ["-i", str(source), "-c", "copy", "-bsf:a", "aac_adtstoasc", "-f", "flv"]
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    cmd = [ff, "-v", "error", "-y", "-nostdin", *args, str(part)]
    subprocess.run(cmd, check=True, timeout=600)
    part.replace(path)
    return path
