"""Helpers of the RTSP end-to-end tests: compare what ffmpeg read back with the source clip."""

from __future__ import annotations

from headwater.testing import Packet

VIDEO_CODECS = ("h264", "hevc")
AV_NOPTS_VALUE = -(1 << 63)
"""What framecrc prints for a timestamp ffmpeg does not know."""
NOPTS = -(1 << 60)
"""An unknown timestamp after conversion to milliseconds."""


def by_codec(packets: list[Packet], header: dict[str, str]) -> dict[str, list[Packet]]:
    """Packets grouped by codec name, timestamps converted to milliseconds."""
    out: dict[str, list[Packet]] = {}
    for p in packets:
        codec = header.get(f"codec_id {p.stream}", str(p.stream))
        num, den = map(int, header.get(f"tb {p.stream}", "1/1000").split("/"))

        def ms(t: int, num: int = num, den: int = den) -> int:
            return NOPTS if t == AV_NOPTS_VALUE else round(t * num * 1000 / den)

        out.setdefault(codec, []).append(
            Packet(p.stream, ms(p.dts), ms(p.pts), p.duration, p.size, p.crc, p.keyframe)
        )
    return out


def assert_same_video(
    got: list[Packet],
    source: list[Packet],
    *,
    tolerance: int = 2,
    same_bytes: bool = True,
    check_dts: bool = True,
) -> None:
    """Every frame, bytes and keyframe flags identical; pts the source's plus one constant;
    dts valid (non-decreasing, never after pts) and the source's plus one constant.

    ``same_bytes=False`` for a container that frames NAL units differently (MPEG-TS: Annex
    B and access unit delimiters): then only the count and keyframe flags must match."""
    if same_bytes:
        assert [(p.size, p.crc, p.keyframe) for p in got] == [
            (p.size, p.crc, p.keyframe) for p in source
        ]
    assert [p.keyframe for p in got] == [p.keyframe for p in source]
    pairs = [
        (a, b)
        for a, b in zip(got, source, strict=True)
        if NOPTS not in (a.pts, a.dts, b.pts, b.dts)
    ]
    assert len(pairs) >= len(source) - 2  # ffmpeg may leave one pts unset (mp4 edit list)
    pts_shift = [a.pts - b.pts for a, b in pairs]
    dts_shift = [a.dts - b.dts for a, b in pairs]
    assert max(pts_shift) - min(pts_shift) <= tolerance, pts_shift
    if check_dts:
        assert max(dts_shift) - min(dts_shift) <= tolerance, dts_shift
    ours = [a for a, _ in pairs]
    assert all(p.dts <= p.pts for p in ours)
    assert [p.dts for p in ours] == sorted(p.dts for p in ours)


def assert_audio_run(got: list[Packet], source: list[Packet], *, missing: int = 6) -> None:
    """Audio frames are one contiguous run of the source's (a player joins at the cached
    keyframe; ffmpeg's RTP muxer may keep its last few AAC frames), at most ``missing`` short."""
    ours = [(p.size, p.crc) for p in got]
    theirs = [(p.size, p.crc) for p in source]
    assert len(ours) >= len(theirs) - missing, (len(ours), len(theirs))
    start = next(i for i in range(len(theirs)) if theirs[i : i + len(ours)] == ours)
    assert start <= missing


HANDLER_CALLS: list[dict] = []


async def token_check(**fields):
    """An in-process ``on_publish`` handler: allow ``?token=good``, forbid anything else."""
    from headwater import Refusal, Verdict

    HANDLER_CALLS.append(fields)
    if fields["args"].get("token") == "good":
        return Verdict.allow()
    return Verdict.deny("token refused", Refusal.FORBIDDEN)
