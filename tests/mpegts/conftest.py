"""Fixtures for the MPEG-TS tests: cached ffmpeg-made clips."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ts_clip(test_media):
    """``ts_clip(video, audio)`` → bytes of a 2 s MPEG-TS clip made by ffmpeg (cached)."""

    def make(video: str | None, audio: str | None, **kw) -> bytes:
        path: Path = test_media(video, audio, "ts", seconds=2.0, size="160x120", **kw)
        return path.read_bytes()

    return make
