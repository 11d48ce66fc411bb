"""H.264 helpers (ITU-T H.264 7.3, ISO/IEC 14496-15 5.3.3): NAL types and the AVC config record."""

from __future__ import annotations

from collections.abc import Sequence

from headwater.errors import MediaError

NAL_SLICE = 1
NAL_IDR = 5
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9

AUD_NALU = b"\x09\xf0"
"""An access unit delimiter NAL unit (primary_pic_type 7: any slice type)."""


class AVCConfigError(MediaError):
    """An AVCDecoderConfigurationRecord is malformed."""


def nal_type(nalu: bytes) -> int:
    """The nal_unit_type of an H.264 NAL unit."""
    return nalu[0] & 0x1F if nalu else 0


def is_keyframe(nalus: Sequence[bytes]) -> bool:
    """True when the access unit holds an IDR slice."""
    return any(n and (n[0] & 0x1F) == NAL_IDR for n in nalus)


def parameter_sets(nalus: Sequence[bytes]) -> tuple[list[bytes], list[bytes]]:
    """The SPS and PPS NAL units found in an access unit."""
    sps = [n for n in nalus if n and (n[0] & 0x1F) == NAL_SPS]
    pps = [n for n in nalus if n and (n[0] & 0x1F) == NAL_PPS]
    return sps, pps


def parse_avc_config(record: bytes) -> tuple[int, list[bytes], list[bytes]]:
    """Parse an AVCDecoderConfigurationRecord into (NAL length size, SPS list, PPS list)."""
    if len(record) < 7 or record[0] != 1:
        raise AVCConfigError("AVCDecoderConfigurationRecord shorter than 7 bytes or version != 1")
    length_size = (record[4] & 3) + 1
    pos = 6
    out: list[list[bytes]] = [[], []]
    for which, count in enumerate((record[5] & 0x1F, None)):
        if count is None:
            if pos >= len(record):
                raise AVCConfigError("AVCDecoderConfigurationRecord has no PPS count")
            count = record[pos]
            pos += 1
        for _ in range(count):
            if pos + 2 > len(record):
                raise AVCConfigError("AVCDecoderConfigurationRecord truncated")
            size = int.from_bytes(record[pos : pos + 2], "big")
            pos += 2
            if pos + size > len(record):
                raise AVCConfigError("parameter set runs past the end of the record")
            out[which].append(bytes(record[pos : pos + size]))
            pos += size
    return length_size, out[0], out[1]


def build_avc_config(sps: Sequence[bytes], pps: Sequence[bytes]) -> bytes:
    """Build an AVCDecoderConfigurationRecord with 4-byte NAL lengths."""
    if not sps:
        raise AVCConfigError("an AVC configuration needs at least one SPS")
    first = sps[0]
    if len(first) < 4:
        raise AVCConfigError("SPS shorter than 4 bytes")
    parts = [bytes((1, first[1], first[2], first[3], 0xFF, 0xE0 | len(sps)))]
    for s in sps:
        parts.append(len(s).to_bytes(2, "big") + bytes(s))
    parts.append(bytes((len(pps),)))
    for p in pps:
        parts.append(len(p).to_bytes(2, "big") + bytes(p))
    return b"".join(parts)
