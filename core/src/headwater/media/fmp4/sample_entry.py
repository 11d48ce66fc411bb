"""Sample entries of the ``stsd`` box: how a decoder is set up for each track.

- ``avc1`` with ``avcC`` (ISO/IEC 14496-15 5.4.2; the AVCDecoderConfigurationRecord);
- ``hvc1`` with ``hvcC`` (14496-15 8.4.1; parameter sets in the record);
- ``mp4a`` with ``esds`` (ISO/IEC 14496-14 5.6 and 14496-1 7.2.6: ES_Descriptor,
  DecoderConfigDescriptor with object type 0x40, DecoderSpecificInfo holding the AAC
  AudioSpecificConfig, SLConfigDescriptor).

The visual and audio sample entry layouts are 14496-12 12.1.3 and 12.2.3.
"""

from __future__ import annotations

import struct

from headwater.media.fmp4.box import box, full_box
from headwater.media.frames import Codec, Track

AAC_OBJECT_TYPE = 0x40
"""objectTypeIndication of MPEG-4 audio (14496-1 table 5)."""
AUDIO_STREAM = 0x05
"""streamType of an audio stream (14496-1 table 6)."""


def visual_sample_entry(kind: bytes, width: int, height: int, config: bytes) -> bytes:
    """A VisualSampleEntry (``avc1``/``hvc1``) of ``width`` x ``height`` with its config box."""
    return box(
        kind,
        bytes(6),  # reserved
        struct.pack(">H", 1),  # data_reference_index
        bytes(16),  # pre_defined, reserved, pre_defined[3]
        struct.pack(">HHII", width, height, 0x00480000, 0x00480000),  # 72 dpi
        bytes(4),  # reserved
        struct.pack(">H", 1),  # frame_count
        bytes(32),  # compressorname
        struct.pack(">Hh", 0x0018, -1),  # depth, pre_defined
        config,
    )


def _descriptor(tag: int, *payload: bytes) -> bytes:
    """An MPEG-4 descriptor (14496-1 8.3.3): tag, size in 7-bit groups, payload."""
    body = b"".join(payload)
    size = len(body)
    groups = [size & 0x7F]
    size >>= 7
    while size:
        groups.append(0x80 | (size & 0x7F))
        size >>= 7
    return bytes((tag, *reversed(groups))) + body


def esds(track_id: int, audio_specific_config: bytes) -> bytes:
    """The ``esds`` box of an AAC track: its ES_Descriptor with the AudioSpecificConfig."""
    decoder_config = _descriptor(
        0x04,
        struct.pack(">BB", AAC_OBJECT_TYPE, (AUDIO_STREAM << 2) | 1),
        bytes(3),  # bufferSizeDB
        struct.pack(">II", 0, 0),  # maxBitrate, avgBitrate (unknown)
        _descriptor(0x05, audio_specific_config),
    )
    es = _descriptor(
        0x03,
        struct.pack(">HB", track_id & 0xFFFF, 0),
        decoder_config,
        _descriptor(0x06, b"\x02"),  # SLConfigDescriptor: predefined = 2 (MP4)
    )
    return full_box(b"esds", 0, 0, es)


def audio_sample_entry(track_id: int, channels: int, sample_rate: int, config: bytes) -> bytes:
    """An ``mp4a`` AudioSampleEntry (16-bit samples) with its ``esds``."""
    return box(
        b"mp4a",
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(8),  # reserved
        struct.pack(">HHHH", channels or 2, 16, 0, 0),
        struct.pack(">I", min(sample_rate, 0xFFFF) << 16),  # 16.16 fixed point
        esds(track_id, config),
    )


def sample_entry(track: Track, track_id: int, record: bytes, size: tuple[int, int]) -> bytes:
    """The sample entry of ``track`` (``record``: its avcC/hvcC record or AAC config).

    :raises ValueError: for a codec fMP4 output does not carry (see ``SUPPORTED``).
    """
    width, height = size
    if track.codec is Codec.H264:
        return visual_sample_entry(b"avc1", width, height, box(b"avcC", record))
    if track.codec is Codec.H265:
        return visual_sample_entry(b"hvc1", width, height, box(b"hvcC", record))
    if track.codec is Codec.AAC:
        return audio_sample_entry(track_id, track.channels, track.sample_rate, record)
    raise ValueError(f"fMP4 output carries H.264, H.265 and AAC, not {track.codec}")
