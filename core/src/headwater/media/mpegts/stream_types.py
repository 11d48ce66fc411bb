"""stream_type values and descriptors (ISO/IEC 13818-1 Table 2-34, 2.6; ETSI EN 300 468 annex).

Maps a PMT entry to a headwater :class:`~headwater.media.frames.Codec` and back. Codecs
without their own stream_type ride in private PES (0x06) and are told apart by a
registration descriptor (tag 0x05: ``Opus``, ``AC-3``, ``EAC3``, ``HEVC``) or a DVB
descriptor (AC-3 0x6A, enhanced AC-3 0x7A).
"""

from __future__ import annotations

from headwater.media.frames import Codec
from headwater.media.mpegts.pes import STREAM_ID_AUDIO, STREAM_ID_PRIVATE_1, STREAM_ID_VIDEO
from headwater.media.mpegts.psi import iter_descriptors

ST_MPEG1_AUDIO = 0x03
ST_MPEG2_AUDIO = 0x04
ST_PRIVATE_SECTIONS = 0x05
ST_PRIVATE_PES = 0x06
ST_AAC_ADTS = 0x0F
ST_AAC_LATM = 0x11
ST_METADATA_PES = 0x15
ST_H264 = 0x1B
ST_H265 = 0x24
ST_AC3 = 0x81
ST_SCTE35 = 0x86
ST_EAC3 = 0x87

TAG_REGISTRATION = 0x05
TAG_LANGUAGE = 0x0A
TAG_DVB_AC3 = 0x6A
TAG_DVB_EAC3 = 0x7A
TAG_EXTENSION = 0x7F

_BY_TYPE = {
    ST_H264: Codec.H264,
    ST_H265: Codec.H265,
    ST_AAC_ADTS: Codec.AAC,
    ST_MPEG1_AUDIO: Codec.MP3,
    ST_MPEG2_AUDIO: Codec.MP3,
    ST_AC3: Codec.AC3,
    ST_EAC3: Codec.EAC3,
    ST_SCTE35: Codec.SCTE35,
}

_BY_REGISTRATION = {
    b"Opus": Codec.OPUS,
    b"AC-3": Codec.AC3,
    b"EAC3": Codec.EAC3,
    b"HEVC": Codec.H265,
}

SECTION_TYPES = frozenset({ST_SCTE35, ST_PRIVATE_SECTIONS})
"""stream_types whose PID carries sections rather than PES packets."""


def classify(stream_type: int, descriptors: bytes) -> tuple[Codec, str]:
    """The codec and ISO 639 language of a PMT entry; unknown types are ``Codec.DATA``."""
    codec = _BY_TYPE.get(stream_type, Codec.DATA)
    language = ""
    for tag, body in iter_descriptors(descriptors):
        if tag == TAG_REGISTRATION and len(body) >= 4 and codec is Codec.DATA:
            codec = _BY_REGISTRATION.get(bytes(body[:4]), codec)
        elif tag == TAG_LANGUAGE and len(body) >= 3:
            language = bytes(body[:3]).decode("latin-1").strip("\0 ")
        elif stream_type == ST_PRIVATE_PES and tag == TAG_DVB_AC3:
            codec = Codec.AC3
        elif stream_type == ST_PRIVATE_PES and tag == TAG_DVB_EAC3:
            codec = Codec.EAC3
    return codec, language


def _registration(name: bytes) -> bytes:
    return bytes((TAG_REGISTRATION, 4)) + name


# codec → (stream_type, descriptors, PES stream_id); data tracks keep their own stream_type.
_WRITE = {
    Codec.H264: (ST_H264, b"", STREAM_ID_VIDEO),
    Codec.H265: (ST_H265, b"", STREAM_ID_VIDEO),
    Codec.AAC: (ST_AAC_ADTS, b"", STREAM_ID_AUDIO),
    Codec.MP3: (ST_MPEG1_AUDIO, b"", STREAM_ID_AUDIO),
    Codec.MP2: (ST_MPEG1_AUDIO, b"", STREAM_ID_AUDIO),
    Codec.AC3: (ST_AC3, _registration(b"AC-3"), STREAM_ID_PRIVATE_1),
    Codec.EAC3: (ST_EAC3, _registration(b"EAC3"), STREAM_ID_PRIVATE_1),
    # Opus in TS (ETSI TS 102 366 style mapping used by ffmpeg/VLC): registration 'Opus'
    # and the DVB extension descriptor 0x80 giving the channel configuration.
    Codec.OPUS: (ST_PRIVATE_PES, _registration(b"Opus"), STREAM_ID_PRIVATE_1),
    Codec.SCTE35: (ST_SCTE35, _registration(b"CUEI"), 0),
    Codec.DATA: (ST_PRIVATE_PES, b"", STREAM_ID_PRIVATE_1),
}


def stream_type_for(
    codec: Codec, channels: int = 2, stream_type: int | None = None
) -> tuple[int, bytes, int]:
    """(stream_type, ES descriptors, PES stream_id) to write a track of ``codec``.

    ``stream_type`` overrides the default for data tracks read from another TS (their
    original type travels in ``Track.extra["stream_type"]``).
    """
    if codec not in _WRITE:
        raise ValueError(f"codec {codec} cannot be carried in MPEG-TS by headwater")
    st, desc, sid = _WRITE[codec]
    if codec is Codec.OPUS:
        desc += bytes((TAG_EXTENSION, 2, 0x80, channels if 0 < channels <= 8 else 2))
    if codec is Codec.DATA and stream_type is not None:
        st = stream_type
        if st == ST_METADATA_PES:
            sid = 0xFC
    return st, desc, sid
