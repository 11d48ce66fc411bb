"""HLS playlist writer (RFC 8216), table-driven: each case is a playlist and its exact text."""

from __future__ import annotations

import pytest

from headwater.media.hls import (
    MediaPlaylist,
    Segment,
    Variant,
    format_date_time,
    render_master_playlist,
    render_media_playlist,
    target_duration,
)

T0 = 1_795_946_400.0  # 2026-11-29T10:00:00Z

MEDIA_CASES = [
    (
        "live-window-with-dates",
        MediaPlaylist(
            [Segment("s100.ts", 2.0, T0), Segment("s101.ts", 2.04, T0 + 2.0)],
            target=2,
            media_sequence=100,
        ),
        """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:00.000Z
#EXTINF:2.000,
s100.ts
#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:02.000Z
#EXTINF:2.040,
s101.ts
""",
    ),
    (
        "long-segment-raises-the-target",
        MediaPlaylist([Segment("a.ts", 2.0), Segment("b.ts", 4.6)], target=2),
        """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:5
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:2.000,
a.ts
#EXTINF:4.600,
b.ts
""",
    ),
    (
        "discontinuity-after-republish",
        MediaPlaylist(
            [Segment("a.ts", 1.5, T0), Segment("b.ts", 2.0, T0 + 10.25, discontinuity=True)],
            target=2,
            media_sequence=7,
            discontinuity_sequence=3,
        ),
        """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-DISCONTINUITY-SEQUENCE:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:00.000Z
#EXTINF:1.500,
a.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-29T10:00:10.250Z
#EXTINF:2.000,
b.ts
""",
    ),
    (
        "vod-range-ends",
        MediaPlaylist(
            [Segment("/cam/1.ts", 3.0)],
            target=3,
            playlist_type="VOD",
            ended=True,
            independent_segments=False,
        ),
        """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:3
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:3.000,
/cam/1.ts
#EXT-X-ENDLIST
""",
    ),
    (
        "empty-live-playlist",
        MediaPlaylist([], target=2.5, media_sequence=5),
        """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:3
#EXT-X-MEDIA-SEQUENCE:5
#EXT-X-INDEPENDENT-SEGMENTS
""",
    ),
]


@pytest.mark.parametrize(
    ("playlist", "text"), [c[1:] for c in MEDIA_CASES], ids=[c[0] for c in MEDIA_CASES]
)
def test_media_playlist(playlist: MediaPlaylist, text: str) -> None:
    assert render_media_playlist(playlist) == text


@pytest.mark.parametrize(
    ("durations", "target", "expected"),
    [
        ([], 2, 2),
        ([2.0, 2.49], 2, 2),  # 2.49 rounds to 2
        ([2.5], 2, 3),  # half rounds up (RFC 8216 4.3.3.1: "rounded to the nearest integer")
        ([0.4], 0.5, 1),  # never 0
        ([6.0], 10, 10),  # the configured target is a floor
    ],
)
def test_target_duration(durations: list[float], target: float, expected: int) -> None:
    assert target_duration([Segment("x", d) for d in durations], target) == expected


def test_every_extinf_rounds_to_at_most_the_target() -> None:
    segments = [Segment(f"{i}.ts", 0.5 + i * 0.37) for i in range(20)]
    text = render_media_playlist(MediaPlaylist(segments, target=2))
    target = int(text.split("#EXT-X-TARGETDURATION:")[1].split("\n")[0])
    for line in text.splitlines():
        if line.startswith("#EXTINF:"):
            assert int(float(line[8:].rstrip(",")) + 0.5) <= target


MASTER_CASES = [
    (
        "video-and-audio",
        [Variant("mono.m3u8", 1_234_567, 1_000_000, "avc1.64001f,mp4a.40.2", (1280, 720), 25)],
        """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=1234567,AVERAGE-BANDWIDTH=1000000,CODECS="avc1.64001f,mp4a.40.2",\
RESOLUTION=1280x720,FRAME-RATE=25.000
mono.m3u8
""",
    ),
    (
        "audio-only-no-resolution",
        [Variant("mono.m3u8", 64000, codecs="mp4a.40.2")],
        """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"
mono.m3u8
""",
    ),
    (
        "bandwidth-never-zero",
        [Variant("a.m3u8", 0), Variant("b.m3u8", 2e6)],
        """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=1
a.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2000000
b.m3u8
""",
    ),
]


@pytest.mark.parametrize(
    ("variants", "text"), [c[1:] for c in MASTER_CASES], ids=[c[0] for c in MASTER_CASES]
)
def test_master_playlist(variants: list[Variant], text: str) -> None:
    assert render_master_playlist(variants) == text


def test_master_playlist_refuses_nothing_and_bad_quotes() -> None:
    with pytest.raises(ValueError, match="at least one variant"):
        render_master_playlist([])
    with pytest.raises(ValueError, match="quoted-string"):
        render_master_playlist([Variant("a.m3u8", 1, codecs='avc1"')])


@pytest.mark.parametrize(
    ("posix", "text"),
    [
        (T0, "2026-11-29T10:00:00.000Z"),
        (T0 + 0.0405, "2026-11-29T10:00:00.040Z"),
        (T0 + 59.999, "2026-11-29T10:00:59.999Z"),
        (0, "1970-01-01T00:00:00.000Z"),
    ],
)
def test_program_date_time_format(posix: float, text: str) -> None:
    assert format_date_time(posix) == text
