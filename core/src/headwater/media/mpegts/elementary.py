"""Elementary-stream payloads ↔ headwater frames, per codec (the TS adapter layer).

Reading: a PES payload becomes frames of the media model — H.264/H.265 access units as
NAL units without start codes and without access unit delimiters (ITU-T H.264 B.1,
H.265 B.2), AAC as raw frames without ADTS (ISO/IEC 13818-7 6.2), MPEG audio, AC-3 and
Opus split into codec frames with per-frame timestamps. A changed codec configuration
(new SPS/PPS, another ADTS config, MP2 found where MP3 was assumed) yields a new
:class:`~headwater.media.frames.Track` with the same id.

Writing: a frame becomes the PES payload TS players expect — AUD first and parameter sets
before each keyframe for H.264/H.265, an ADTS header per AAC frame, an Opus control
header per Opus packet.
"""

from __future__ import annotations

from dataclasses import replace
from struct import Struct

from headwater.media import h264, h265
from headwater.media.aac import (
    SAMPLE_RATES,
    SAMPLES_PER_FRAME,
    AACError,
    AudioSpecificConfig,
    adts_header,
    parse_adts_header,
)
from headwater.media.annexb import (
    START_CODE,
    access_unit_bounds,
    access_unit_key,
    cut_units,
    unit_types,
)
from headwater.media.bitreader import BitstreamError
from headwater.media.frames import CLOCK_RATE, Codec, Frame, Track
from headwater.media.h264_sps import parse_h264_sps
from headwater.media.h265_sps import parse_h265_sps
from headwater.media.mpegts.audio_frames import (
    ac3_frame,
    mpa_frame,
    opus_control_header,
    opus_duration,
    opus_frames,
)

Decoded = tuple[list[Frame], Track | None, int | None]

_RATES = len(SAMPLE_RATES)
"""ADTS sampling frequency indices from this one on are reserved."""
_ADTS = Struct(">HBI").unpack_from
"""An ADTS header's first 7 bytes: the sync word and flags, the profile, rate and channel
byte, and the rest (frame length in bits 13-25, raw blocks less one in bits 0-1)."""


def decode(track: Track, data: bytes, start: int, end: int, pts: int, dts: int) -> Decoded:
    """Frames of one PES payload ``data[start:end]``; also a replacement track and next pts."""
    codec = track.codec
    if codec is Codec.H264 or codec is Codec.H265:
        return _video(track, data, start, end, pts, dts)
    if codec is Codec.AAC:
        return _aac(track, data, start, end, pts)
    if codec is Codec.MP3 or codec is Codec.MP2:
        return _split(track, data, start, end, pts, mpa_frame)
    if codec is Codec.AC3 or codec is Codec.EAC3:
        return _split(track, data, start, end, pts, ac3_frame)
    if codec is Codec.OPUS:
        return _opus(track, data, start, end, pts)
    return [Frame(track, pts, dts, True, data=data[start:end])], None, None


def _video(
    track: Track, data: bytes | bytearray, start: int, end: int, pts: int, dts: int
) -> Decoded:
    # the keyframe flag from the first VCL unit (usually after the AUD alone); a frame that
    # is not a keyframe keeps the PES unscanned, a keyframe the PES and its units' bounds
    # (its parameter sets must be known now); units are cut only if a consumer asks for
    # them; a frame's size is the access unit as carried (start codes included)
    hevc = track.codec is Codec.H265
    key = access_unit_key(data, start, end, hevc)
    if key is False:
        return [Frame.from_access_unit(track, pts, dts, False, data, start, end)], None, None
    bounds = access_unit_bounds(data, start, end, hevc)
    heads = unit_types(data, bounds, hevc)
    if key is None:  # no start code: the payload is one unit (annexb_bounds' reading)
        # h265.is_keyframe (an IRAP picture), h264.is_keyframe (an IDR slice)
        key = any(16 <= t <= 21 for t in heads) if hevc else h264.NAL_IDR in heads
        if not key:
            frame = Frame.from_annexb(track, pts, dts, False, data, bounds, end - start)
            return [frame], None, None
    # a keyframe's parameter sets go into the track: those units alone are cut now
    wanted = (h265.NAL_VPS, h265.NAL_SPS, h265.NAL_PPS) if hevc else (h264.NAL_SPS, h264.NAL_PPS)
    picked = [x for i, t in enumerate(heads) if t in wanted for x in bounds[2 * i : 2 * i + 2]]
    units = cut_units(data, picked)
    new = None
    sets = h265.parameter_sets(units) if hevc else h264.parameter_sets(units)
    flat = tuple(n for group in sets for n in group)
    if sets[-2] and sets[-1] and flat != track.parameter_sets:
        try:
            info = parse_h265_sps(sets[-2][0]) if hevc else parse_h264_sps(sets[-2][0])
            width, height = info.width, info.height
        except BitstreamError:
            width, height = 0, 0
        new = track = replace(
            track, parameter_sets=flat, width=width, height=height, extra=dict(track.extra)
        )
    return [Frame.from_annexb(track, pts, dts, True, data, bounds, end - start)], new, None


def _aac(track: Track, data: bytes, pos: int, end: int, pts: int) -> Decoded:
    # the first ADTS header through the parser (it gives the configuration); the rest of
    # the PES (ffmpeg puts some 8 frames in one) with the same checks inlined
    frames: list[Frame] = []
    new = None
    i = 0
    rate = track.sample_rate
    step = SAMPLES_PER_FRAME * CLOCK_RATE
    while pos + 7 <= end:
        if i:
            sync, b2, rest = _ADTS(data, pos)  # bytes 0-1, 2, 3-6 of the header
            if sync & 0xFFF6 != 0xFFF0 or (b2 >> 2) & 15 >= _RATES:
                break
            size = (rest >> 13) & 0x1FFF
            head = 7 if sync & 1 else 9
            if size < head or pos + size > end:
                break
            t = pts + i * step // rate
            frames.append(Frame(track, t, t, True, data[pos + head : pos + size]))
            i += (rest & 3) + 1
            pos += size
            continue
        try:
            h = parse_adts_header(data, pos)
        except AACError:
            break
        if pos + h.frame_size > end:
            break
        config = h.config().to_bytes()
        if config != track.config:
            new = track = replace(
                track,
                config=config,
                sample_rate=h.sample_rate,
                channels=h.channels,
                extra=dict(track.extra),
            )
            rate = h.sample_rate
        t = pts + i * step // rate
        frames.append(Frame(track, t, t, True, data[pos + h.header_size : pos + h.frame_size]))
        pos += h.frame_size
        i += h.frames
    next_pts = pts + i * step // rate if rate else None
    return frames, new, next_pts


def _split(track: Track, data: bytes, pos: int, end: int, pts: int, sizer) -> Decoded:
    frames: list[Frame] = []
    new = None
    t = pts
    while True:
        f = sizer(data, pos)
        if f is None or f.end > end:
            break
        if f.layer == 2 and track.codec is Codec.MP3:
            new = track = replace(track, codec=Codec.MP2, extra=dict(track.extra))
        frames.append(Frame(track, t, t, True, data=data[f.start : f.end]))
        t += f.duration
        pos = f.end
    return frames, new, t


def _opus(track: Track, data: bytes, start: int, end: int, pts: int) -> Decoded:
    frames: list[Frame] = []
    t = pts
    for a, b in opus_frames(data[start:end]):
        packet = data[start + a : start + b]
        frames.append(Frame(track, t, t, True, data=packet))
        t += opus_duration(packet)
    return frames, None, t


def encode(frame: Frame, aac_config: AudioSpecificConfig | None = None) -> bytes:
    """The PES payload for one frame (see the module docstring for what is added)."""
    codec = frame.track.codec
    if codec is Codec.H264 or codec is Codec.H265:
        return _encode_video(frame, codec is Codec.H265)
    if codec is Codec.AAC:
        if aac_config is None:
            raise ValueError("an AAC frame needs an AudioSpecificConfig to get an ADTS header")
        return adts_header(aac_config, len(frame.data)) + frame.data
    if codec is Codec.OPUS:
        return opus_control_header(len(frame.data)) + frame.data
    return bytes(frame.data)


def _encode_video(frame: Frame, hevc: bool) -> bytes:
    return b"".join(video_parts(frame, hevc))


def video_parts(frame: Frame, hevc: bool) -> list[bytes | memoryview]:
    """The PES payload of an H.264/H.265 frame as pieces to join, after an empty first item.

    The first item is left for the caller (the TS writer puts the PES header there, so
    the payload is copied once); joined, the rest is what :func:`encode` returns.
    """
    nalus = frame.nalu_views()  # an RTMP frame's units as views of its body, not cut
    if hevc:
        parts: list[bytes | memoryview] = [b"", _H265_START_AUD]
        if (
            frame.keyframe
            and frame.track.parameter_sets
            and not any(n and (n[0] >> 1) & 0x3F == h265.NAL_SPS for n in nalus)
        ):
            for ps in frame.track.parameter_sets:
                parts += (START_CODE, ps)
        for n in nalus:
            if (n[0] >> 1) & 0x3F != h265.NAL_AUD:
                parts += (START_CODE, n)
        return parts
    parts = [b"", _H264_START_AUD]
    if (
        frame.keyframe
        and frame.track.parameter_sets
        and not any(n and n[0] & 0x1F == _H264_SPS for n in nalus)
    ):
        for ps in frame.track.parameter_sets:
            parts += (START_CODE, ps)
    for n in nalus:
        if n[0] & 0x1F != _H264_AUD_TYPE:
            parts += (START_CODE, n)
    return parts


_H264_START_AUD = START_CODE + h264.AUD_NALU
_H265_START_AUD = START_CODE + h265.AUD_NALU
"""A start code and the access unit delimiter the writer puts first (one part)."""
_H264_AUD_TYPE = h264.NAL_AUD
_H264_SPS = h264.NAL_SPS
"""H.264's access unit delimiter type and SPS type, as module names (read for every
frame)."""


def aac_config_of(track: Track) -> AudioSpecificConfig:
    """The AudioSpecificConfig to write ADTS headers for ``track`` (built if it has none)."""
    if track.config:
        return AudioSpecificConfig.parse(track.config)
    return AudioSpecificConfig.build(2, track.sample_rate or 48000, track.channels or 2)
