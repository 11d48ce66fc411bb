"""RTP payload formats: what an SDP media section carries, and how to describe a track.

:func:`track_from_media` reads a media section (``rtpmap``, ``fmtp``) into a
:class:`~headwater.media.frames.Track` and the depacketizer for its packets;
:func:`media_for_track` writes the media section a player gets for a track and the
packetizer for its frames. Supported: H.264 (RFC 6184), H.265 (RFC 7798), AAC as
``mpeg4-generic`` (RFC 3640) and ``MP4A-LATM`` (RFC 6416), Opus (RFC 7587), G.711 PCMA and
PCMU (RFC 3551).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.log_text import shown
from headwater.media import h264, h265
from headwater.media.aac import AACError, AudioSpecificConfig
from headwater.media.bitreader import BitstreamError
from headwater.media.frames import Codec, Track
from headwater.media.h264_sps import parse_h264_sps
from headwater.media.h265_sps import parse_h265_sps
from headwater.media.rtp.aac import AACDepacketizer, aac_fmtp, packetize_aac
from headwater.media.rtp.depacketizer import Depacketizer
from headwater.media.rtp.h264 import H264Depacketizer, packetize_h264
from headwater.media.rtp.h265 import H265Depacketizer, packetize_h265
from headwater.media.rtp.latm import LATMDepacketizer, latm_audio_config
from headwater.media.rtp.packet import RTPError
from headwater.media.rtp.single_frame import FrameDepacketizer, opus_head, packetize_frame
from headwater.media.sdp import MediaDescription, SDPError

STATIC_PAYLOAD_TYPES = {0: ("PCMU", 8000, 1), 8: ("PCMA", 8000, 1)}
"""RFC 3551 static payload types a media section may use without ``a=rtpmap``."""


class UnsupportedFormat(SDPError):
    """A media section whose codec we cannot take (the client is told which)."""


@dataclass(slots=True)
class ReceivedFormat:
    """How to receive one media section: its track, clock rate and depacketizer."""

    track: Track
    clock_rate: int
    depacketizer: Depacketizer[Any]
    """Packets in, ``(timestamp, frame)`` or ``(timestamp, NAL units)`` out."""
    payload_type: int = 0

    @property
    def is_nal(self) -> bool:
        """True when the depacketizer yields NAL unit lists (H.264/H.265)."""
        return self.track.codec in (Codec.H264, Codec.H265)


@dataclass(slots=True)
class SentFormat:
    """How to send one track: its media section, clock rate and packetizer."""

    media: MediaDescription
    clock_rate: int
    packetize: Callable[[Any], list[tuple[bytes, bool]]]
    """Frame payload (NAL units or bytes) → RTP payloads with marker bits."""


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise SDPError(f"bad base64 parameter set {shown(value, 40)}") from None


def track_from_media(media: MediaDescription, track_id: int) -> ReceivedFormat:
    """The track and depacketizer for a media section; raise UnsupportedFormat if none."""
    received = _received(media, track_id)
    received.payload_type = media.payload_type
    return received


def _received(media: MediaDescription, track_id: int) -> ReceivedFormat:
    pt = media.payload_type
    rtpmap = media.rtpmap(pt)
    if rtpmap is None:
        if pt not in STATIC_PAYLOAD_TYPES:
            raise UnsupportedFormat(f"m={shown(media.kind, 40)} payload type {pt} has no a=rtpmap")
        encoding, clock, channels = STATIC_PAYLOAD_TYPES[pt]
    else:
        encoding, clock, channels = rtpmap.encoding, rtpmap.clock_rate, rtpmap.channels
    name = encoding.upper()
    fmtp = media.fmtp(pt)
    if clock <= 0:
        raise UnsupportedFormat(f"{shown(encoding, 40)} without a clock rate")
    if name == "H264":
        sets: list[bytes] = []
        for item in fmtp.get("sprop-parameter-sets", "").split(","):
            if item.strip():
                sets.append(_b64(item.strip()))
        track = Track(track_id, Codec.H264)
        sps, pps = h264.parameter_sets(sets)
        if sps and pps:
            track.parameter_sets = (sps[0], pps[0])
            _h264_size(track, sps[0])
        return ReceivedFormat(track, clock, H264Depacketizer())
    if name in ("H265", "HEVC"):
        track = Track(track_id, Codec.H265)
        found = [
            [_b64(v) for v in fmtp.get(key, "").split(",") if v.strip()]
            for key in ("sprop-vps", "sprop-sps", "sprop-pps")
        ]
        if all(found):
            track.parameter_sets = (found[0][0], found[1][0], found[2][0])
            _h265_size(track, found[1][0])
        if fmtp.get("sprop-max-don-diff", "0") not in ("", "0"):
            raise UnsupportedFormat("H.265 with DONL fields (sprop-max-don-diff > 0)")
        return ReceivedFormat(track, clock, H265Depacketizer())
    if name == "MPEG4-GENERIC":
        mode = fmtp.get("mode", "").lower()
        if mode and mode not in ("aac-hbr", "aac-lbr"):
            raise UnsupportedFormat(
                f"mpeg4-generic mode {shown(mode, 40)} (AAC-hbr and AAC-lbr only)"
            )
        config = _hex(fmtp.get("config", ""))
        track = _aac_track(track_id, config, clock, channels)
        return ReceivedFormat(track, clock, AACDepacketizer(fmtp))
    if name == "MP4A-LATM":
        if fmtp.get("cpresent", "1") != "0" or not fmtp.get("config"):
            raise UnsupportedFormat("MP4A-LATM with in-band configuration (cpresent=1)")
        config = latm_audio_config(_hex(fmtp["config"]))
        track = _aac_track(track_id, config, clock, channels)
        return ReceivedFormat(track, clock, LATMDepacketizer())
    if name == "OPUS":
        count = 2 if fmtp.get("sprop-stereo") == "1" else 1  # rtpmap always says 2 (7587 7)
        track = Track(track_id, Codec.OPUS, sample_rate=48000, channels=count)
        track.config = opus_head(count)
        return ReceivedFormat(track, clock, FrameDepacketizer())
    if name in ("PCMA", "PCMU"):
        codec = Codec.PCMA if name == "PCMA" else Codec.PCMU
        track = Track(track_id, codec, sample_rate=clock, channels=channels or 1)
        return ReceivedFormat(track, clock, FrameDepacketizer())
    raise UnsupportedFormat(f"codec {shown(encoding, 40)}/{clock} is not supported")


def _hex(value: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise SDPError(f"bad hexadecimal config {shown(value, 40)}") from None


def _aac_track(track_id: int, config: bytes, clock: int, channels: int) -> Track:
    track = Track(track_id, Codec.AAC, sample_rate=clock, channels=channels or 2)
    if config:
        try:
            asc = AudioSpecificConfig.parse(config)
        except AACError as exc:
            raise SDPError(f"AAC config: {exc}") from None
        track.config = config
        track.sample_rate, track.channels = asc.sample_rate, asc.channels
    else:
        try:
            track.config = AudioSpecificConfig.build(2, clock, channels or 2).to_bytes()
        except AACError as exc:
            raise UnsupportedFormat(f"AAC without config: {exc}") from None
    return track


def _h264_size(track: Track, sps: bytes) -> None:
    try:
        info = parse_h264_sps(sps)
    except (BitstreamError, IndexError, ValueError):
        return
    track.width, track.height = info.width, info.height


def _h265_size(track: Track, sps: bytes) -> None:
    try:
        info = parse_h265_sps(sps)
    except (BitstreamError, IndexError, ValueError):
        return
    track.width, track.height = info.width, info.height


def learn_parameter_sets(track: Track, nalus: Sequence[bytes]) -> Track | None:
    """A new Track when an access unit carries parameter sets the track lacks (in-band SPS)."""
    if track.codec is Codec.H264:
        sps, pps = h264.parameter_sets(nalus)
        if not sps or not pps:
            return None
        sets: tuple[bytes, ...] = (sps[0], pps[0])
        if sets == track.parameter_sets:
            return None
        new = Track(track.id, Codec.H264, parameter_sets=sets)
        _h264_size(new, sps[0])
        return new
    if track.codec is Codec.H265:
        vps, sps2, pps2 = h265.parameter_sets(nalus)
        if not (vps and sps2 and pps2):
            return None
        sets = (vps[0], sps2[0], pps2[0])
        if sets == track.parameter_sets:
            return None
        new = Track(track.id, Codec.H265, parameter_sets=sets)
        _h265_size(new, sps2[0])
        return new
    return None


def media_for_track(track: Track, payload_type: int, control: str) -> SentFormat | None:
    """The media section and packetizer a player gets for ``track`` (None: not sendable)."""
    b64 = base64.b64encode
    codec = track.codec
    if codec is Codec.H264:
        media = MediaDescription("video", 0, "RTP/AVP", [str(payload_type)])
        media.attributes.append(("rtpmap", f"{payload_type} H264/90000"))
        params = "packetization-mode=1"
        if len(track.parameter_sets) >= 2:
            sps, pps = track.parameter_sets[0], track.parameter_sets[1]
            if len(sps) >= 4:
                params += f";profile-level-id={sps[1:4].hex().upper()}"
            params += f";sprop-parameter-sets={b64(sps).decode()},{b64(pps).decode()}"
        media.attributes.append(("fmtp", f"{payload_type} {params}"))
        clock, packetize = 90000, packetize_h264
    elif codec is Codec.H265:
        media = MediaDescription("video", 0, "RTP/AVP", [str(payload_type)])
        media.attributes.append(("rtpmap", f"{payload_type} H265/90000"))
        if len(track.parameter_sets) >= 3:
            vps, sps, pps = track.parameter_sets[:3]
            params = (
                f"sprop-vps={b64(vps).decode()};sprop-sps={b64(sps).decode()};"
                f"sprop-pps={b64(pps).decode()}"
            )
            media.attributes.append(("fmtp", f"{payload_type} {params}"))
        clock, packetize = 90000, packetize_h265
    elif codec is Codec.AAC and track.config:
        try:
            asc = AudioSpecificConfig.parse(track.config)
        except AACError:
            return None
        clock = asc.sample_rate
        media = MediaDescription("audio", 0, "RTP/AVP", [str(payload_type)])
        media.attributes.append(
            ("rtpmap", f"{payload_type} mpeg4-generic/{clock}/{asc.channels or 2}")
        )
        media.attributes.append(("fmtp", aac_fmtp(track.config, payload_type)))
        packetize = packetize_aac
    elif codec is Codec.OPUS:
        media = MediaDescription("audio", 0, "RTP/AVP", [str(payload_type)])
        media.attributes.append(("rtpmap", f"{payload_type} opus/48000/2"))
        if track.channels == 2:
            media.attributes.append(("fmtp", f"{payload_type} sprop-stereo=1"))
        clock, packetize = 48000, packetize_frame
    elif codec in (Codec.PCMA, Codec.PCMU):
        static = 8 if codec is Codec.PCMA else 0
        clock = track.sample_rate or 8000
        channels = track.channels or 1
        name = codec.value.upper()
        if clock == 8000 and channels == 1:
            payload_type = static
        media = MediaDescription("audio", 0, "RTP/AVP", [str(payload_type)])
        media.attributes.append(("rtpmap", f"{payload_type} {name}/{clock}/{channels}"))
        packetize = packetize_frame
    else:
        return None
    media.attributes.append(("control", control))
    return SentFormat(media, clock, packetize)


__all__ = [
    "STATIC_PAYLOAD_TYPES",
    "RTPError",
    "ReceivedFormat",
    "SentFormat",
    "UnsupportedFormat",
    "learn_parameter_sets",
    "media_for_track",
    "track_from_media",
]
