"""H.265 helpers (ITU-T H.265 7.3.1, ISO/IEC 14496-15 8.3.3): NAL types, HEVC config record."""

from __future__ import annotations

from collections.abc import Sequence

from headwater.errors import MediaError

NAL_IDR_W_RADL = 19
NAL_IDR_N_LP = 20
NAL_CRA = 21
NAL_VPS = 32
NAL_SPS = 33
NAL_PPS = 34
NAL_AUD = 35

AUD_NALU = b"\x46\x01\x50"
"""An access unit delimiter NAL unit (pic_type 2: any slice type)."""


class HEVCConfigError(MediaError):
    """An HEVCDecoderConfigurationRecord is malformed."""


def nal_type(nalu: bytes) -> int:
    """The nal_unit_type of an H.265 NAL unit."""
    return (nalu[0] >> 1) & 0x3F if nalu else 0


def is_keyframe(nalus: Sequence[bytes]) -> bool:
    """True when the access unit holds an IRAP picture (BLA, IDR or CRA: types 16..21)."""
    return any(n and 16 <= ((n[0] >> 1) & 0x3F) <= 21 for n in nalus)


def parameter_sets(nalus: Sequence[bytes]) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """The VPS, SPS and PPS NAL units found in an access unit."""
    found: dict[int, list[bytes]] = {NAL_VPS: [], NAL_SPS: [], NAL_PPS: []}
    for n in nalus:
        t = nal_type(n)
        if t in found:
            found[t].append(n)
    return found[NAL_VPS], found[NAL_SPS], found[NAL_PPS]


def parse_hevc_config(record: bytes) -> tuple[int, list[bytes], list[bytes], list[bytes]]:
    """Parse an HEVCDecoderConfigurationRecord into (NAL length size, VPS, SPS, PPS lists)."""
    if len(record) < 23:
        raise HEVCConfigError("HEVCDecoderConfigurationRecord shorter than 23 bytes")
    length_size = (record[21] & 3) + 1
    arrays = record[22]
    pos = 23
    found: dict[int, list[bytes]] = {NAL_VPS: [], NAL_SPS: [], NAL_PPS: []}
    for _ in range(arrays):
        if pos + 3 > len(record):
            raise HEVCConfigError("HEVCDecoderConfigurationRecord truncated")
        kind = record[pos] & 0x3F
        count = int.from_bytes(record[pos + 1 : pos + 3], "big")
        pos += 3
        for _ in range(count):
            if pos + 2 > len(record):
                raise HEVCConfigError("HEVCDecoderConfigurationRecord truncated")
            size = int.from_bytes(record[pos : pos + 2], "big")
            pos += 2
            if pos + size > len(record):
                raise HEVCConfigError("parameter set runs past the end of the record")
            found.setdefault(kind, []).append(bytes(record[pos : pos + size]))
            pos += size
    return length_size, found[NAL_VPS], found[NAL_SPS], found[NAL_PPS]


def build_hevc_config(vps: Sequence[bytes], sps: Sequence[bytes], pps: Sequence[bytes]) -> bytes:
    """Build an HEVCDecoderConfigurationRecord (4-byte NAL lengths) from parameter sets.

    The general profile/tier/level fields are copied from the SPS's profile_tier_level
    (bytes 3..14 of the SPS NAL unit, before emulation prevention matters in practice).
    """
    if not sps:
        raise HEVCConfigError("an HEVC configuration needs at least one SPS")
    s = bytes(sps[0])
    ptl = s[3:15].ljust(12, b"\0")
    header = bytearray(23)
    header[0] = 1
    header[1:13] = ptl
    header[13] = 0xF0
    header[14] = 0x00
    header[15] = 0xFC
    header[16] = 0xFD  # chroma 4:2:0
    header[17] = 0xF8
    header[18] = 0xF8
    header[19] = 0
    header[20] = 0
    header[21] = (
        0x0F  # constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1, lengthSizeMinusOne 3
    )
    groups = [(NAL_VPS, vps), (NAL_SPS, sps), (NAL_PPS, pps)]
    groups = [(k, g) for k, g in groups if g]
    header[22] = len(groups)
    parts = [bytes(header)]
    for kind, group in groups:
        parts.append(bytes((0x80 | kind,)) + len(group).to_bytes(2, "big"))
        for n in group:
            parts.append(len(n).to_bytes(2, "big") + bytes(n))
    return b"".join(parts)
