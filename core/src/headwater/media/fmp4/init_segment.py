"""The fMP4 (CMAF) initialization segment: ``ftyp`` + ``moov`` for fragmented output.

ISO/IEC 14496-12: ``moov`` (8.2.1) holds ``mvhd`` and one ``trak`` per track with empty
sample tables (every sample lives in a later ``moof``), and ``mvex``/``trex`` (8.8.1, 8.8.3)
announcing that the movie is fragmented. Every track's timescale is headwater's 90 kHz
clock, so frame timestamps go into the fragments unchanged. HLS names this segment in
``EXT-X-MAP`` (RFC 8216bis 4.4.4.5).
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from headwater.media.aac import AACError, AudioSpecificConfig
from headwater.media.fmp4.box import box, full_box
from headwater.media.fmp4.sample_entry import sample_entry
from headwater.media.frames import CLOCK_RATE, Track

MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
"""The unity transformation matrix (14496-12 8.2.2)."""
LANGUAGE_UND = 0x55C4
"""ISO 639-2 ``und`` packed as three 5-bit letters (14496-12 8.4.2.3)."""
BRANDS = (b"iso6", b"cmfc", b"isom", b"mp41")


@dataclass(frozen=True, slots=True)
class InitTrack:
    """One track of the init segment.

    :param track: the headwater track.
    :param track_id: its fMP4 ``track_ID`` (from 1).
    :param record: the codec configuration: AVCDecoderConfigurationRecord,
        HEVCDecoderConfigurationRecord or the AAC AudioSpecificConfig.
    :param width: picture width (video; 0 when unknown).
    :param height: picture height (video).
    """

    track: Track
    track_id: int
    record: bytes
    width: int = 0
    height: int = 0


def ftyp() -> bytes:
    """``ftyp``: ISO base media version 6 with the CMAF brand (14496-12 4.3)."""
    return box(b"ftyp", BRANDS[0], struct.pack(">I", 0), *BRANDS)


def mvhd(next_track_id: int) -> bytes:
    """``mvhd`` (8.2.2): no duration (fragmented), 1 ms timescale."""
    return full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, 1000, 0),  # creation, modification, timescale, duration
        struct.pack(">IH", 0x00010000, 0x0100),  # rate 1.0, volume 1.0
        bytes(10),  # reserved
        MATRIX,
        bytes(24),  # pre_defined
        struct.pack(">I", next_track_id),
    )


def _tkhd(init: InitTrack) -> bytes:
    audio = init.track.is_audio
    return full_box(
        b"tkhd",
        0,
        3,  # track enabled, in movie
        struct.pack(">IIIII", 0, 0, init.track_id, 0, 0),
        bytes(8),
        struct.pack(">hhhH", 0, 0, 0x0100 if audio else 0, 0),  # layer, group, volume
        MATRIX,
        struct.pack(">II", init.width << 16, init.height << 16),
    )


def _audio_format(track: Track, record: bytes) -> tuple[int, int]:
    channels, rate = track.channels, track.sample_rate
    if (not channels or not rate) and record:
        with contextlib.suppress(AACError):
            config = AudioSpecificConfig.parse(record)
            channels, rate = channels or config.channels, rate or config.sample_rate
    return channels or 2, rate or 48000


def _trak(init: InitTrack) -> bytes:
    track = init.track
    if track.is_video:
        handler, media_header = b"vide", full_box(b"vmhd", 0, 1, bytes(8))
        entry = sample_entry(track, init.track_id, init.record, (init.width, init.height))
        name = b"VideoHandler\0"
    else:
        handler, media_header = b"soun", full_box(b"smhd", 0, 0, bytes(4))
        channels, rate = _audio_format(track, init.record)
        described = Track(track.id, track.codec, channels=channels, sample_rate=rate)
        entry = sample_entry(described, init.track_id, init.record, (0, 0))
        name = b"SoundHandler\0"
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), entry),
        full_box(b"stts", 0, 0, bytes(4)),
        full_box(b"stsc", 0, 0, bytes(4)),
        full_box(b"stsz", 0, 0, bytes(8)),
        full_box(b"stco", 0, 0, bytes(4)),
    )
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    mdia = box(
        b"mdia",
        full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, CLOCK_RATE, 0, LANGUAGE_UND, 0)),
        full_box(b"hdlr", 0, 0, bytes(4), handler, bytes(12), name),
        box(b"minf", media_header, dinf, stbl),
    )
    return box(b"trak", _tkhd(init), mdia)


def _trex(track_id: int) -> bytes:
    return full_box(b"trex", 0, 0, struct.pack(">IIIII", track_id, 1, 0, 0, 0))


def init_segment(tracks: Sequence[InitTrack]) -> bytes:
    """``ftyp`` + ``moov`` for ``tracks`` (at least one)."""
    if not tracks:
        raise ValueError("an init segment needs at least one track")
    ids = [t.track_id for t in tracks]
    if len(set(ids)) != len(ids) or min(ids) < 1:
        raise ValueError(f"fMP4 track ids must be unique and from 1, not {ids}")
    moov = box(
        b"moov",
        mvhd(max(ids) + 1),
        *(_trak(t) for t in tracks),
        box(b"mvex", *(_trex(t.track_id) for t in tracks)),
    )
    return ftyp() + moov
