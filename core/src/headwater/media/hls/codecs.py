"""RFC 6381 ``CODECS`` strings for an HLS master playlist, computed from headwater Tracks.

RFC 8216 4.3.4.2 asks every ``EXT-X-STREAM-INF`` for a ``CODECS`` attribute naming each
format in the variant, so a player can skip what it cannot decode before downloading a
segment. The strings follow RFC 6381 3.3 and the ISO base media file format bindings:

- H.264: ``avc1.PPCCLL`` (ISO/IEC 14496-15 annex A: profile_idc, the constraint-flags byte
  and level_idc of the SPS, as hex);
- H.265: ``hvc1.<space><profile>.<compat>.<tier><level>.<constraints>`` (14496-15 annex E,
  from the SPS's profile_tier_level);
- AAC: ``mp4a.40.<audio object type>`` (RFC 6381 3.3, from the AudioSpecificConfig);
- MP3 ``mp4a.40.34``, MPEG-1/2 layer II ``mp4a.40.33``, AC-3 ``ac-3``, E-AC-3 ``ec-3``,
  Opus ``Opus`` (the names hls.js and Safari recognise).

A track whose configuration is not known yet falls back to the common default of its codec
(``avc1.42e01e`` would lie about the profile, so H.264 without an SPS gives ``avc1``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from headwater.media.aac import AACError, AudioSpecificConfig
from headwater.media.bitreader import unescape_rbsp
from headwater.media.frames import Codec, Track

_FIXED = {
    Codec.MP3: "mp4a.40.34",
    Codec.MP2: "mp4a.40.33",
    Codec.AC3: "ac-3",
    Codec.EAC3: "ec-3",
    Codec.OPUS: "Opus",
    Codec.AV1: "av01",
    Codec.VP9: "vp09",
}


def _sps(track: Track, nal_type_of: int) -> bytes | None:
    """The first SPS among the track's parameter sets (H.264 type 7, H.265 type 33)."""
    for nalu in track.parameter_sets:
        if not nalu:
            continue
        kind = nalu[0] & 0x1F if track.codec is Codec.H264 else (nalu[0] >> 1) & 0x3F
        if kind == nal_type_of:
            return nalu
    return None


def _avc1(track: Track) -> str:
    sps = _sps(track, 7)
    if sps is None or len(sps) < 4:
        return "avc1"
    # profile_idc, constraint_set flags + reserved bits, level_idc (H.264 7.3.2.1.1).
    return f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"


def _hvc1(track: Track) -> str:
    sps = _sps(track, 33)
    if sps is None:
        return "hvc1"
    rbsp = unescape_rbsp(sps[2:])  # after the 2-byte NAL unit header
    if len(rbsp) < 13:
        return "hvc1"
    # rbsp[0]: vps id (4), max_sub_layers_minus1 (3), temporal_id_nesting (1);
    # then profile_tier_level (H.265 7.3.3): space(2) tier(1) profile_idc(5), 32 compatibility
    # flags, 48 constraint bits, general_level_idc.
    ptl = rbsp[1]
    space = ("", "A", "B", "C")[ptl >> 6]
    tier = "H" if ptl & 0x20 else "L"
    profile = ptl & 0x1F
    compat = int.from_bytes(rbsp[2:6], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)  # 14496-15 E.3: bits in reverse order
    constraints = bytes(rbsp[6:12]).rstrip(b"\x00")
    level = rbsp[12]
    out = f"hvc1.{space}{profile}.{reversed_compat:X}.{tier}{level}"
    for byte in constraints:
        out += f".{byte:X}"
    return out


def _mp4a(track: Track) -> str:
    object_type = 2  # AAC-LC, what nearly every encoder sends
    if track.config:
        with contextlib.suppress(AACError):  # a broken config: say AAC-LC, as most are
            object_type = AudioSpecificConfig.parse(track.config).object_type
    return f"mp4a.40.{object_type}"


def codec_string(track: Track) -> str | None:
    """The RFC 6381 string of one track, or None for a codec HLS cannot name (data, PCM)."""
    if track.codec is Codec.H264:
        return _avc1(track)
    if track.codec is Codec.H265:
        return _hvc1(track)
    if track.codec is Codec.AAC:
        return _mp4a(track)
    return _FIXED.get(track.codec)


def codecs_attribute(tracks: Iterable[Track]) -> str:
    """The ``CODECS`` value for a variant: video first, then audio, comma-separated, unique."""
    ordered = sorted(tracks, key=lambda t: (not t.is_video, not t.is_audio, t.id))
    names: list[str] = []
    for track in ordered:
        name = codec_string(track)
        if name and name not in names:
            names.append(name)
    return ",".join(names)


def resolution_of(tracks: Iterable[Track]) -> tuple[int, int] | None:
    """Width and height of the first video track that knows them, for ``RESOLUTION``."""
    for track in tracks:
        if track.is_video and track.width and track.height:
            return track.width, track.height
    return None
