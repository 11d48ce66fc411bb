"""H.265 sequence parameter set parsing (ITU-T H.265 7.3.2.2.1, profile_tier_level 7.3.3).

Gives the picture size (conformance window applied), general profile and level of an
HEVC publication, for stats, metadata and HLS ``CODECS``.
"""

from __future__ import annotations

from typing import NamedTuple

from headwater.media.bitreader import BitReader, BitstreamError, unescape_rbsp


class H265SPSInfo(NamedTuple):
    """What an H.265 SPS says about the picture; unpacks as (width, height, profile, level)."""

    width: int
    height: int
    profile: int
    """general_profile_idc (1 Main, 2 Main 10, 3 Main Still Picture, 4 range extensions...)."""
    level: int
    """general_level_idc (thirty times the level number: 93 is level 3.1)."""


def _skip_sub_layers(r: BitReader, max_sub_layers_minus1: int) -> None:
    """Skip the sub-layer part of profile_tier_level() (7.3.3)."""
    if not max_sub_layers_minus1:
        return
    flags = [(r.flag(), r.flag()) for _ in range(max_sub_layers_minus1)]
    r.skip(2 * (8 - max_sub_layers_minus1))  # reserved_zero_2bits
    for profile_present, level_present in flags:
        if profile_present:
            r.skip(88)
        if level_present:
            r.skip(8)


def parse_h265_sps(nalu: bytes | bytearray | memoryview) -> H265SPSInfo:
    """Parse an SPS NAL unit (with its 2-byte NAL header) into size, profile and level.

    Raises :class:`~headwater.media.bitreader.BitstreamError` (a ``ProtocolError``) on a
    truncated or invalid SPS.
    """
    raw = unescape_rbsp(nalu)
    if len(raw) < 3 or (raw[0] >> 1) & 0x3F != 33:
        raise BitstreamError("not an H.265 SPS NAL unit")
    r = BitReader(raw[2:])
    r.skip(4)  # sps_video_parameter_set_id
    max_sub_layers_minus1 = r.u(3)
    if max_sub_layers_minus1 > 6:
        raise BitstreamError("sps_max_sub_layers_minus1 above 6")
    r.skip(1)  # sps_temporal_id_nesting_flag
    r.skip(3)  # general_profile_space, general_tier_flag
    profile = r.u(5)
    r.skip(32 + 48)  # compatibility flags, source flags and constraint bits
    level = r.u(8)
    _skip_sub_layers(r, max_sub_layers_minus1)
    if r.ue() > 15:
        raise BitstreamError("sps_seq_parameter_set_id above 15")
    chroma_format_idc = r.ue()
    if chroma_format_idc > 3:
        raise BitstreamError(f"chroma_format_idc {chroma_format_idc} above 3")
    separate_colour_plane = chroma_format_idc == 3 and r.flag()
    width = r.ue()
    height = r.ue()
    if r.flag():  # conformance_window_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        chroma_array_type = 0 if separate_colour_plane else chroma_format_idc
        sub_w = 2 if chroma_array_type in (1, 2) else 1
        sub_h = 2 if chroma_array_type == 1 else 1
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    if width <= 0 or height <= 0:
        raise BitstreamError("SPS gives an empty picture")
    return H265SPSInfo(width, height, profile, level)
