"""H.264 sequence parameter set parsing (ITU-T H.264 7.3.2.1.1 and 7.4.2.1.1).

Protocol plugins need the picture size, profile and level of a publication (for stats,
RTMP ``onMetaData``, HLS ``CODECS``). Only the fields before ``vui_parameters`` are read.
"""

from __future__ import annotations

from typing import NamedTuple

from headwater.media.bitreader import BitReader, BitstreamError, unescape_rbsp

# profile_idc values whose SPS carries chroma_format_idc and bit depths (7.3.2.1.1).
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


class H264SPSInfo(NamedTuple):
    """What an H.264 SPS says about the picture; unpacks as (width, height, profile, level)."""

    width: int
    height: int
    profile: int
    """profile_idc (66 Baseline, 77 Main, 100 High...)."""
    level: int
    """level_idc (ten times the level number: 31 is level 3.1)."""


def _skip_scaling_list(r: BitReader, size: int) -> None:
    """Skip one scaling_list() (7.3.2.1.1.1): delta-coded until next_scale reaches 0."""
    last = next_scale = 8
    for _ in range(size):
        if next_scale:
            next_scale = (last + r.se() + 256) % 256
        last = next_scale or last


def parse_h264_sps(nalu: bytes | bytearray | memoryview) -> H264SPSInfo:
    """Parse an SPS NAL unit (with its 1-byte NAL header) into size, profile and level.

    The size is the displayed one: the frame cropping window is applied. Raises
    :class:`~headwater.media.bitreader.BitstreamError` (a ``ProtocolError``) on a
    truncated or invalid SPS.
    """
    raw = unescape_rbsp(nalu)
    if len(raw) < 4 or raw[0] & 0x1F != 7:
        raise BitstreamError("not an H.264 SPS NAL unit")
    r = BitReader(raw[1:])
    profile = r.u(8)
    r.skip(8)  # constraint_set flags and reserved bits
    level = r.u(8)
    if r.ue() > 31:
        raise BitstreamError("seq_parameter_set_id above 31")
    chroma_format_idc = 1
    separate_colour_plane = False
    if profile in _HIGH_PROFILES:
        chroma_format_idc = r.ue()
        if chroma_format_idc > 3:
            raise BitstreamError(f"chroma_format_idc {chroma_format_idc} above 3")
        if chroma_format_idc == 3:
            separate_colour_plane = r.flag()
        r.ue()  # bit_depth_luma_minus8
        r.ue()  # bit_depth_chroma_minus8
        r.skip(1)  # qpprime_y_zero_transform_bypass_flag
        if r.flag():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format_idc != 3 else 12):
                if r.flag():
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif poc_type == 1:
        r.skip(1)  # delta_pic_order_always_zero_flag
        r.se()
        r.se()
        cycle = r.ue()
        if cycle > 255:
            raise BitstreamError("num_ref_frames_in_pic_order_cnt_cycle above 255")
        for _ in range(cycle):
            r.se()
    elif poc_type != 2:
        raise BitstreamError(f"pic_order_cnt_type {poc_type} above 2")
    r.ue()  # max_num_ref_frames
    r.skip(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = r.ue() + 1
    height_units = r.ue() + 1
    frame_mbs_only = r.flag()
    if not frame_mbs_only:
        r.skip(1)  # mb_adaptive_frame_field_flag
    r.skip(1)  # direct_8x8_inference_flag
    width = width_mbs * 16
    height = (2 - frame_mbs_only) * height_units * 16
    if r.flag():  # frame_cropping_flag
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        chroma_array_type = 0 if separate_colour_plane else chroma_format_idc
        if chroma_array_type == 0:
            crop_x, crop_y = 1, 2 - frame_mbs_only
        else:
            sub_w = 1 if chroma_array_type == 3 else 2
            sub_h = 2 if chroma_array_type == 1 else 1
            crop_x, crop_y = sub_w, sub_h * (2 - frame_mbs_only)
        width -= crop_x * (left + right)
        height -= crop_y * (top + bottom)
    if width <= 0 or height <= 0:
        raise BitstreamError("SPS cropping leaves an empty picture")
    return H264SPSInfo(width, height, profile, level)
