"""Helpers of the SRT end-to-end tests (no tests here): a frame-collecting test plugin, the
command line, and a comparison of collected frames with the source clip's."""

from __future__ import annotations

from dataclasses import dataclass, field

from headwater import Frame, hookimpl
from headwater.media.mpegts import TracksChanged, TSReader


def source_frames(data: bytes) -> list[tuple]:
    """(codec, pts, dts, keyframe, payload) of every frame of a TS buffer, in order."""
    reader = TSReader()
    return [key(e) for e in reader.feed(data) + reader.flush() if not isinstance(e, TracksChanged)]


def key(frame: Frame) -> tuple:
    payload = tuple(bytes(n) for n in frame.nalus) or (bytes(frame.data),)
    return (frame.track.codec.value, frame.pts, frame.dts, frame.keyframe, payload)


@dataclass
class Collector:
    """A test plugin: every stream's frames, collected from the start of the publication."""

    frames: dict[str, list[tuple]] = field(default_factory=dict)

    @hookimpl
    def stream_started(self, stream, settings):
        frames = self.frames.setdefault(stream.name, [])

        class Consumer:
            name = "test-collector"

            async def run(self, subscription) -> None:
                async for frame in subscription:
                    frames.append(key(frame))

        return [Consumer()]


def srt_url(
    port: int, streamid: str | None = None, passphrase: str | None = None, pbkeylen: int = 16
) -> str:
    url = f"srt://127.0.0.1:{port}?mode=caller&latency=120000"
    if streamid is not None:
        url += f"&streamid={streamid}"
    if passphrase is not None:
        url += f"&passphrase={passphrase}&pbkeylen={pbkeylen}"
    return url


def publish_args(clip, url: str, realtime: bool = True) -> list[str]:
    return [*(["-re"] if realtime else []), "-i", str(clip), "-c", "copy", "-f", "mpegts", url]


TAIL_FRAMES = 15
"""libsrt callers in live mode close without sending what is still in their send buffer
(no linger; the lossy relay test shows those packets never leave ffmpeg): the last few
frames of a clip may be missing."""


def by_codec(frames: list[tuple]) -> dict[str, list[tuple]]:
    """Frames grouped per codec, in order (tracks interleave differently per chunking)."""
    out: dict[str, list[tuple]] = {}
    for f in frames:
        out.setdefault(f[0], []).append(f)
    return out


def assert_same_frames(got: list[tuple], source: list[tuple]) -> None:
    """Per codec, ``got`` is ``source`` from the first frame on, byte for byte and with
    the same timestamps (one constant shift), missing at most the clip's last frames."""
    assert len(got) >= len(source) - TAIL_FRAMES, (len(got), len(source))
    mine, theirs = by_codec(got), by_codec(source)
    assert mine.keys() == theirs.keys()
    shift = got[0][1] - next(f for f in source if f[0] == got[0][0])[1]
    for codec, frames in mine.items():
        src = theirs[codec][: len(frames)]
        assert [f[3:] for f in frames] == [f[3:] for f in src], codec
        assert {(a[1] - b[1], a[2] - b[2]) for a, b in zip(frames, src)} == {(shift, shift)}
