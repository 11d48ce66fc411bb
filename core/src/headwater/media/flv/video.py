"""FLV/RTMP video tag bodies: legacy VIDEODATA (FLV spec v10.1 E.4.3.1, AVC) and Enhanced RTMP
ExVideoTagHeader (veovera enhanced-rtmp v1 and v2: FourCC ``avc1``/``hvc1``/``av01``/``vp09``,
CodedFramesX, ModEx, multitrack).

:func:`parse_video` turns one body into :class:`VideoPacket` values (several for a
multitrack body); :func:`encode_video_config` and :func:`encode_video_frame` write bodies the
way ffmpeg and OBS read them: H.264 in the legacy form, everything else enhanced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from headwater.media.flv.enhanced import ONE_TRACK, skip_mod_ex, split_multitrack
from headwater.media.flv.tags import FlvError
from headwater.media.frames import Codec

# Legacy codec ids (E.4.3.1); 12 is the widespread pre-enhanced HEVC extension.
LEGACY_AVC = 7
LEGACY_HEVC = 12

FOURCC_CODECS = {b"avc1": Codec.H264, b"hvc1": Codec.H265, b"av01": Codec.AV1, b"vp09": Codec.VP9}
CODEC_FOURCCS = {codec: fourcc for fourcc, codec in FOURCC_CODECS.items()}

FRAME_KEY = 1
FRAME_INTER = 2
FRAME_COMMAND = 5


class PacketKind(IntEnum):
    """What a video or audio packet carries (VideoPacketType / AudioPacketType meaning)."""

    CONFIG = 0
    FRAME = 1
    END = 2
    METADATA = 3
    COMMAND = 4


# Enhanced VideoPacketType values.
_SEQ_START, _CODED, _SEQ_END, _CODED_X, _METADATA, _TS_SEQ_START, _MULTITRACK, _MODEX = range(8)
# AvMultitrackType values.


@dataclass(slots=True)
class VideoPacket:
    """One video packet from a tag body.

    ``codec`` is None for a codec headwater does not carry (Sorenson, VP6, ...);
    ``track`` is the FLV track id (0 unless multitrack); ``cts`` the composition time offset
    in milliseconds (pts = dts + cts); ``payload`` the configuration record (CONFIG), the
    length-prefixed NAL units or raw frame (FRAME), or the metadata bytes (METADATA).
    """

    codec: Codec | None
    kind: PacketKind
    keyframe: bool = False
    cts: int = 0
    payload: bytes | memoryview = b""
    track: int = 0


def _si24(b: bytes | memoryview, pos: int) -> int:
    value = (b[pos] << 16) | (b[pos + 1] << 8) | b[pos + 2]
    return value - (1 << 24) if value & 0x800000 else value


def _need(body: bytes | memoryview, pos: int, n: int, what: str) -> None:
    if pos + n > len(body):
        raise FlvError(f"video tag body truncated in {what}")


def parse_video(body: bytes | memoryview) -> list[VideoPacket]:
    """Parse one VIDEODATA body (legacy or enhanced) into packets."""
    if not body:
        raise FlvError("empty video tag body")
    body = memoryview(body)  # payloads are views: no copy of the frame before its NAL split
    first = body[0]
    if not first & 0x80:
        return [_parse_legacy(body)]
    frame_type = (first >> 4) & 7
    packet_type, pos = skip_mod_ex(body, first & 0x0F, 1, "video")
    keyframe = frame_type == FRAME_KEY
    if frame_type == FRAME_COMMAND and packet_type != _METADATA:
        return [VideoPacket(None, PacketKind.COMMAND, payload=body[pos:])]
    if packet_type != _MULTITRACK:
        _need(body, pos, 4, "FourCC")
        fourcc = body[pos : pos + 4]
        return [_enhanced_packet(fourcc, packet_type, keyframe, body[pos + 4 :], 0)]
    packet_type, entries = split_multitrack(body, pos, "video")
    return [
        _enhanced_packet(bytes(fourcc), packet_type, keyframe, payload, track)
        for fourcc, track, payload in entries
    ]


def _parse_legacy(body: memoryview) -> VideoPacket:
    frame_type = body[0] >> 4
    codec_id = body[0] & 0x0F
    if frame_type == FRAME_COMMAND:
        return VideoPacket(None, PacketKind.COMMAND, payload=body[1:])
    if codec_id not in (LEGACY_AVC, LEGACY_HEVC):
        return VideoPacket(None, PacketKind.FRAME, frame_type == FRAME_KEY, payload=body[1:])
    codec = Codec.H264 if codec_id == LEGACY_AVC else Codec.H265
    _need(body, 0, 5, "AVC packet header")
    packet_type = body[1]
    if packet_type == 0:
        return VideoPacket(codec, PacketKind.CONFIG, payload=body[5:])
    if packet_type == 2:
        return VideoPacket(codec, PacketKind.END)
    if packet_type != 1:
        raise FlvError(f"unknown AVCPacketType {packet_type}")
    return VideoPacket(codec, PacketKind.FRAME, frame_type == FRAME_KEY, _si24(body, 2), body[5:])


def _enhanced_packet(
    fourcc: bytes | memoryview, packet_type: int, keyframe: bool, data: memoryview, track: int
) -> VideoPacket:
    codec = FOURCC_CODECS.get(bytes(fourcc))
    if packet_type in (_SEQ_START, _TS_SEQ_START):
        return VideoPacket(codec, PacketKind.CONFIG, payload=data, track=track)
    if packet_type == _SEQ_END:
        return VideoPacket(codec, PacketKind.END, track=track)
    if packet_type == _METADATA:
        return VideoPacket(codec, PacketKind.METADATA, payload=data, track=track)
    if packet_type == _CODED_X:
        return VideoPacket(codec, PacketKind.FRAME, keyframe, 0, data, track)
    if packet_type == _CODED:
        if codec in (Codec.H264, Codec.H265):
            if len(data) < 3:
                raise FlvError("video tag body truncated in CompositionTime")
            return VideoPacket(codec, PacketKind.FRAME, keyframe, _si24(data, 0), data[3:], track)
        return VideoPacket(codec, PacketKind.FRAME, keyframe, 0, data, track)
    raise FlvError(f"unknown enhanced VideoPacketType {packet_type}")


def _enhanced_header(codec: Codec, frame_type: int, packet_type: int, track: int) -> bytes:
    fourcc = CODEC_FOURCCS.get(codec)
    if fourcc is None:
        raise ValueError(f"{codec} cannot be carried in FLV")
    if track == 0:
        return bytes((0x80 | (frame_type << 4) | packet_type,)) + fourcc
    return (
        bytes((0x80 | (frame_type << 4) | _MULTITRACK, (ONE_TRACK << 4) | packet_type))
        + fourcc
        + bytes((track,))
    )


def encode_video_config(codec: Codec, record: bytes, track: int = 0) -> bytes:
    """A sequence-start body carrying a decoder configuration record (avcC, hvcC, av1C, vpcC)."""
    if codec is Codec.H264 and track == 0:
        return b"\x17\x00\x00\x00\x00" + record
    return _enhanced_header(codec, FRAME_KEY, _SEQ_START, track) + record


def encode_video_end(codec: Codec, track: int = 0) -> bytes:
    """An end-of-sequence body."""
    if codec is Codec.H264 and track == 0:
        return b"\x17\x02\x00\x00\x00"
    return _enhanced_header(codec, FRAME_KEY, _SEQ_END, track)


def encode_video_frame(
    codec: Codec,
    keyframe: bool,
    cts: int = 0,
    nalus: Sequence[bytes] = (),
    data: bytes = b"",
    track: int = 0,
) -> bytes:
    """A coded-frame body: H.264/H.265 ``nalus`` get 4-byte lengths, others carry ``data``.

    ``cts`` is the composition time offset in milliseconds. One join builds the body.
    """
    frame_type = FRAME_KEY if keyframe else FRAME_INTER
    parts: list[bytes] = []
    if codec is Codec.H264 and track == 0:
        parts.append(bytes((frame_type << 4 | LEGACY_AVC, 1)))
        parts.append((cts & 0xFFFFFF).to_bytes(3, "big"))
    elif codec in (Codec.H264, Codec.H265) and cts:
        parts.append(_enhanced_header(codec, frame_type, _CODED, track))
        parts.append((cts & 0xFFFFFF).to_bytes(3, "big"))
    else:
        parts.append(_enhanced_header(codec, frame_type, _CODED_X, track))
    if nalus:
        for nalu in nalus:
            parts.append(len(nalu).to_bytes(4, "big"))
            parts.append(nalu)
    else:
        parts.append(data)
    return b"".join(parts)
