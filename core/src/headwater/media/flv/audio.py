"""FLV/RTMP audio tag bodies: legacy AUDIODATA (FLV spec v10.1 E.4.2.1: AAC, MP3, G.711) and
Enhanced RTMP v2 ExAudioTagHeader (SoundFormat 9: FourCC ``Opus``, ``mp4a``, ``.mp3``,
``ac-3``, ``ec-3``; ModEx and multitrack).

:func:`parse_audio` turns one body into :class:`AudioPacket` values; :func:`encode_audio_config`
and :func:`encode_audio_frame` write bodies: AAC, MP3 and G.711 in the legacy form that every
player reads, the others enhanced.
"""

from __future__ import annotations

from dataclasses import dataclass

from headwater.media.flv.enhanced import ONE_TRACK, skip_mod_ex, split_multitrack
from headwater.media.flv.tags import FlvError
from headwater.media.flv.video import PacketKind
from headwater.media.frames import Codec

LEGACY_CODECS = {2: Codec.MP3, 7: Codec.PCMA, 8: Codec.PCMU, 10: Codec.AAC, 14: Codec.MP3}
LEGACY_IDS = {Codec.MP3: 2, Codec.PCMA: 7, Codec.PCMU: 8, Codec.AAC: 10}
LEGACY_RATES = (5512, 11025, 22050, 44100)
EX_HEADER = 9

FOURCC_CODECS = {
    b"Opus": Codec.OPUS,
    b"mp4a": Codec.AAC,
    b".mp3": Codec.MP3,
    b"ac-3": Codec.AC3,
    b"ec-3": Codec.EAC3,
}
CODEC_FOURCCS = {codec: fourcc for fourcc, codec in FOURCC_CODECS.items()}

# Enhanced AudioPacketType values.
_SEQ_START, _CODED, _SEQ_END, _MULTICHANNEL, _MULTITRACK, _MODEX = 0, 1, 2, 4, 5, 7


@dataclass(slots=True)
class AudioPacket:
    """One audio packet from a tag body.

    ``codec`` is None for a codec headwater does not carry (Nellymoser, Speex, PCM, FLAC...).
    ``sample_rate`` and ``channels`` are what a legacy header's flags say (0 when enhanced
    or unknown; the configuration is the better source). ``payload`` is the configuration
    (AudioSpecificConfig, OpusHead) for CONFIG and the raw frame for FRAME.
    """

    codec: Codec | None
    kind: PacketKind
    payload: bytes = b""
    track: int = 0
    sample_rate: int = 0
    channels: int = 0


def _need(body: bytes, pos: int, n: int, what: str) -> None:
    if pos + n > len(body):
        raise FlvError(f"audio tag body truncated in {what}")


def parse_audio(body: bytes) -> list[AudioPacket]:
    """Parse one AUDIODATA body (legacy or enhanced) into packets."""
    if not body:
        raise FlvError("empty audio tag body")
    fmt = body[0] >> 4
    if fmt != EX_HEADER:
        return [_parse_legacy(body)]
    packet_type, pos = skip_mod_ex(body, body[0] & 0x0F, 1, "audio")
    if packet_type != _MULTITRACK:
        _need(body, pos, 4, "FourCC")
        return [_enhanced_packet(body[pos : pos + 4], packet_type, body[pos + 4 :], 0)]
    packet_type, entries = split_multitrack(body, pos, "audio")
    return [
        _enhanced_packet(bytes(fourcc), packet_type, bytes(payload), track)
        for fourcc, track, payload in entries
    ]


def _parse_legacy(body: bytes) -> AudioPacket:
    flags = body[0]
    fmt = flags >> 4
    codec = LEGACY_CODECS.get(fmt)
    rate = 8000 if fmt in (7, 8, 14) else LEGACY_RATES[(flags >> 2) & 3]
    channels = 2 if flags & 1 else 1
    if codec is Codec.AAC:
        _need(body, 0, 2, "AACPacketType")
        kind = PacketKind.CONFIG if body[1] == 0 else PacketKind.FRAME
        if body[1] > 1:
            raise FlvError(f"unknown AACPacketType {body[1]}")
        return AudioPacket(codec, kind, body[2:], 0, rate, channels)
    return AudioPacket(codec, PacketKind.FRAME, body[1:], 0, rate, channels)


def _enhanced_packet(fourcc: bytes, packet_type: int, data: bytes, track: int) -> AudioPacket:
    codec = FOURCC_CODECS.get(bytes(fourcc))
    if packet_type == _SEQ_START:
        return AudioPacket(codec, PacketKind.CONFIG, data, track)
    if packet_type == _CODED:
        return AudioPacket(codec, PacketKind.FRAME, data, track)
    if packet_type == _SEQ_END:
        return AudioPacket(codec, PacketKind.END, b"", track)
    if packet_type == _MULTICHANNEL:
        return AudioPacket(codec, PacketKind.METADATA, data, track)
    raise FlvError(f"unknown enhanced AudioPacketType {packet_type}")


def _legacy_flags(codec: Codec, sample_rate: int, channels: int) -> int:
    if codec in (Codec.PCMA, Codec.PCMU):
        rate_bits = 0
    elif codec is Codec.AAC:
        rate_bits = 3  # E.4.2.1: always 3 (44 kHz) for AAC; the config says the truth
    else:
        rate_bits = min(range(4), key=lambda i: abs(LEGACY_RATES[i] - (sample_rate or 44100)))
    stereo = 1 if (channels != 1 or codec is Codec.AAC) else 0
    return LEGACY_IDS[codec] << 4 | rate_bits << 2 | 2 | stereo


def _enhanced_header(codec: Codec, packet_type: int, track: int) -> bytes:
    fourcc = CODEC_FOURCCS.get(codec)
    if fourcc is None:
        raise ValueError(f"{codec} cannot be carried in FLV")
    if track == 0:
        return bytes((EX_HEADER << 4 | packet_type,)) + fourcc
    return (
        bytes((EX_HEADER << 4 | _MULTITRACK, ONE_TRACK << 4 | packet_type))
        + fourcc
        + bytes((track,))
    )


def is_legacy(codec: Codec, track: int) -> bool:
    """True when a codec on this track is written with the legacy header."""
    return track == 0 and codec in LEGACY_IDS


def encode_audio_config(codec: Codec, config: bytes, track: int = 0) -> bytes:
    """A sequence-start body: AudioSpecificConfig (AAC) or OpusHead (Opus)."""
    if codec is Codec.AAC and track == 0:
        return b"\xaf\x00" + config
    return _enhanced_header(codec, _SEQ_START, track) + config


def encode_audio_frame(
    codec: Codec, data: bytes, track: int = 0, sample_rate: int = 0, channels: int = 0
) -> bytes:
    """A coded-frame body around one raw audio frame."""
    if is_legacy(codec, track):
        flags = _legacy_flags(codec, sample_rate, channels)
        if codec is Codec.AAC:
            return b"".join((bytes((flags, 1)), data))
        return b"".join((bytes((flags,)), data))
    return b"".join((_enhanced_header(codec, _CODED, track), data))
