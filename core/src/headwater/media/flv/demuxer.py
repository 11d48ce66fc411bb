"""FLV tag bodies → headwater :class:`~headwater.media.frames.Frame` objects.

Used by the RTMP plugin (audio/video messages are FLV tag bodies) and by anything that
reads FLV files. Timestamps: FLV carries 32-bit milliseconds; :class:`FlvDemuxer` unwraps
them into an ever-growing count (past the 49.7-day wrap) and multiplies by 90, so a
millisecond timestamp survives the trip to 90 kHz and back exactly.

Track ids: FLV video track *t* becomes :func:`video_track_id` (``2t+1``: 1 for the
default track), audio track *t* becomes :func:`audio_track_id` (``2t+2``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from headwater.media import h264, h265
from headwater.media.aac import AudioSpecificConfig
from headwater.media.avcc import AVCCError, split_avcc
from headwater.media.flv import tags
from headwater.media.flv.audio import AudioPacket, parse_audio
from headwater.media.flv.script import metadata_of
from headwater.media.flv.video import (
    FRAME_COMMAND,
    FRAME_INTER,
    FRAME_KEY,
    LEGACY_AVC,
    PacketKind,
    VideoPacket,
    parse_video,
)
from headwater.media.frames import Codec, Frame, MediaKind, Track
from headwater.media.h264_sps import parse_h264_sps
from headwater.media.h265_sps import parse_h265_sps

WRAP = 1 << 32
_HALF = 1 << 31
LEGACY_AAC = 10
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_U32 = struct.Struct(">I")
_H264 = Codec.H264
_AAC = Codec.AAC


def _split4(body: bytes) -> tuple[tuple[bytes, ...], bool]:
    """The NAL units of a legacy AVC frame body (4-byte lengths from offset 5), and whether
    none was empty (then joining them again with their lengths gives ``body[5:]``).

    :func:`~headwater.media.avcc.split_avcc` inlined for the per-frame path: same units,
    same errors.
    """
    n = len(body)
    unpack = _U32.unpack_from
    out: list[bytes] = []
    whole = True
    pos = 5
    while pos + 4 <= n:
        start = pos + 4
        pos = start + unpack(body, pos)[0]
        if pos > n:
            raise AVCCError(
                f"NAL unit of {pos - start} bytes runs past the end of a {n - 5}-byte sample"
            )
        if pos > start:
            out.append(body[start:pos])
        else:
            whole = False
    if pos != n:
        raise AVCCError(f"{n - pos} stray bytes after the last NAL unit")
    return tuple(out), whole


def _payload4(body: bytes) -> int:
    """The NAL unit bytes of a legacy AVC frame body (4-byte lengths from offset 5), or -1
    when a unit is empty (joining the units again would not give the body back).

    Walks the lengths as :func:`_split4` does and raises its errors, without copying."""
    n = len(body)
    unpack = _U32.unpack_from
    pos = 5
    units = 0
    whole = True
    while pos + 4 <= n:
        length = unpack(body, pos)[0]
        start = pos + 4
        pos = start + length
        if pos > n:
            raise AVCCError(
                f"NAL unit of {pos - start} bytes runs past the end of a {n - 5}-byte sample"
            )
        units += 1
        whole = whole and length > 0
    if pos != n:
        raise AVCCError(f"{n - pos} stray bytes after the last NAL unit")
    return n - 5 - 4 * units if whole else -1


def video_track_id(flv_track: int) -> int:
    """The headwater track id of FLV video track ``flv_track``."""
    return 2 * flv_track + 1


def audio_track_id(flv_track: int) -> int:
    """The headwater track id of FLV audio track ``flv_track``."""
    return 2 * flv_track + 2


def mp3_format(data: bytes) -> tuple[int, int]:
    """(sample rate, channels) from an MPEG audio frame header, (0, 0) if there is none."""
    if len(data) < 4 or data[0] != 0xFF or (data[1] & 0xE0) != 0xE0:
        return 0, 0
    version = (data[1] >> 3) & 3
    rate_index = (data[2] >> 2) & 3
    if version == 1 or rate_index == 3:
        return 0, 0
    channels = 1 if (data[3] >> 6) == 3 else 2
    return _MP3_RATES[version][rate_index], channels


class TimestampUnwrapper:
    """Turns 32-bit wrapping millisecond timestamps into a monotonic-ish int count."""

    __slots__ = ("_epoch", "_last")

    def __init__(self) -> None:
        self._epoch = 0
        self._last: int | None = None

    def __call__(self, raw: int) -> int:
        last = self._last
        if last is None:
            if raw >= _HALF:
                self._epoch = -WRAP  # a first timestamp past 2^31 is a negative one (ffmpeg)
        else:
            if raw < last and last - raw > _HALF:
                self._epoch += WRAP
            elif raw > last and raw - last > _HALF:
                return self._epoch - WRAP + raw  # a late packet from before the wrap
        self._last = raw
        return self._epoch + raw


class FlvDemuxer:
    """Turns FLV audio/video/script bodies into frames, tracks and metadata.

    ``tracks`` maps headwater track ids to the current :class:`Track`; a new sequence
    header makes a new Track object with the same id. ``metadata`` holds the last
    ``onMetaData``. Bad bodies raise a :class:`~headwater.errors.MediaError` (a remote
    ``ProtocolError``) from the codec or container module that found the fault.
    """

    def __init__(self, amf3: Callable[..., Any] | None = None) -> None:
        self.tracks: dict[int, Track] = {}
        self.metadata: dict[str, Any] = {}
        self.ignored = 0
        """Packets of codecs headwater does not carry, counted and dropped."""
        self._length_size: dict[int, int] = {}
        self._clock = TimestampUnwrapper()
        self._amf3 = amf3

    def tag(self, tag: tags.FlvTag) -> list[Frame]:
        """Frames of one FLV tag (metadata goes to :attr:`metadata`)."""
        if tag.kind == tags.VIDEO:
            return self.video(tag.timestamp, tag.data)
        if tag.kind == tags.AUDIO:
            return self.audio(tag.timestamp, tag.data)
        if tag.kind == tags.SCRIPT:
            self.script(tag.data)
        return []

    def script(self, body: bytes) -> dict[str, Any] | None:
        """Keep and return an ``onMetaData`` object; other script data returns None."""
        meta = metadata_of(body, self._amf3)
        if meta is not None:
            self.metadata = meta
        return meta

    # -- video -----------------------------------------------------------------------------

    def video(self, timestamp: int, body: bytes) -> list[Frame]:
        """Frames of one video body at ``timestamp`` (milliseconds, 32-bit)."""
        clock = self._clock
        last = clock._last
        if last is not None and 0 <= timestamp - last <= _HALF:  # clock(timestamp), inlined
            clock._last = timestamp
            dts_ms = clock._epoch + timestamp
        else:
            dts_ms = clock(timestamp)
        if len(body) >= 5 and body[0] & 0x8F == LEGACY_AVC and body[1] == 1:
            # The per-frame path: legacy AVC NAL units (E.4.3.1) of a configured track.
            track = self.tracks.get(1)
            frame_type = body[0] >> 4
            if frame_type != FRAME_COMMAND and track is not None and track.codec is _H264:
                cts = _U32.unpack_from(body, 1)[0] & 0xFFFFFF  # after packet type 1
                pts = (dts_ms + ((cts ^ 0x800000) - 0x800000)) * 90
                keyframe = frame_type == FRAME_KEY
                if type(body) is bytes and self._length_size.get(1, 4) == 4:
                    if keyframe or frame_type == FRAME_INTER:
                        size = _payload4(body)
                        if size >= 0:
                            # The body is what FlvMuxer would write for this frame: the
                            # frame holds it alone (NAL units cut from it on demand).
                            return [Frame.from_flv_body(track, pts, dts_ms * 90, keyframe,
                                                        body, size)]  # fmt: skip
                    nalus, _ = _split4(body)
                    return [Frame(track, pts, dts_ms * 90, keyframe, b"", nalus)]
                nalus = split_avcc(memoryview(body)[5:], self._length_size.get(1, 4))
                return [Frame(track, pts, dts_ms * 90, keyframe, nalus=tuple(nalus))]
        out = []
        for packet in parse_video(body):
            if packet.codec is None:
                if packet.kind is PacketKind.FRAME:
                    self.ignored += 1
                continue
            tid = video_track_id(packet.track)
            if packet.kind is PacketKind.CONFIG:
                if not len(packet.payload):
                    self.ignored += 1  # an empty sequence header: the real one follows
                    continue
                self.tracks[tid] = self._video_track(tid, packet)
            elif packet.kind is PacketKind.FRAME:
                frame = self._video_frame(tid, packet, dts_ms)
                if frame is not None:
                    out.append(frame)
        return out

    def _video_track(self, tid: int, packet: VideoPacket) -> Track:
        codec = packet.codec
        assert codec is not None
        record = bytes(packet.payload)
        if codec is Codec.H264:
            size, sps, pps = h264.parse_avc_config(record)
            self._length_size[tid] = size
            track = Track(tid, codec, MediaKind.VIDEO, parameter_sets=(*sps, *pps))
            if sps:
                _set_size(track, "h264", sps[0])
            return track
        if codec is Codec.H265:
            size, vps, sps, pps = h265.parse_hevc_config(record)
            self._length_size[tid] = size
            track = Track(tid, codec, MediaKind.VIDEO, parameter_sets=(*vps, *sps, *pps))
            if sps:
                _set_size(track, "h265", sps[0])
            return track
        return Track(tid, codec, MediaKind.VIDEO, config=record)

    def _video_frame(self, tid: int, packet: VideoPacket, dts_ms: int) -> Frame | None:
        track = self.tracks.get(tid)
        codec = packet.codec
        assert codec is not None
        if track is None or track.codec is not codec:
            if codec in (Codec.H264, Codec.H265):
                self.ignored += 1  # NAL units before their sequence header cannot be framed
                return None
            track = self.tracks[tid] = Track(tid, codec, MediaKind.VIDEO)
        dts = dts_ms * 90
        pts = (dts_ms + packet.cts) * 90
        if codec in (Codec.H264, Codec.H265):
            nalus = split_avcc(packet.payload, self._length_size.get(tid, 4))
            return Frame(track, pts, dts, packet.keyframe, nalus=tuple(nalus))
        return Frame(track, pts, dts, packet.keyframe, data=bytes(packet.payload))

    # -- audio -----------------------------------------------------------------------------

    def audio(self, timestamp: int, body: bytes) -> list[Frame]:
        """Frames of one audio body at ``timestamp`` (milliseconds, 32-bit)."""
        clock = self._clock
        last = clock._last
        if last is not None and 0 <= timestamp - last <= _HALF:  # clock(timestamp), inlined
            clock._last = timestamp
            dts = (clock._epoch + timestamp) * 90
        else:
            dts = clock(timestamp) * 90
        if len(body) >= 2 and body[0] >> 4 == LEGACY_AAC and body[1] == 1:
            # The per-frame path: a raw AAC frame (E.4.2.1) of a configured track.
            track = self.tracks.get(2)
            if track is not None and track.codec is _AAC:
                data = body[2:]
                if type(data) is not bytes:
                    data = bytes(data)
                return [Frame(track, dts, dts, True, data)]  # positional: cheaper per call
        out = []
        for packet in parse_audio(body):
            if packet.codec is None:
                if packet.kind is PacketKind.FRAME:
                    self.ignored += 1
                continue
            tid = audio_track_id(packet.track)
            if packet.kind is PacketKind.CONFIG:
                if not len(packet.payload):
                    # ffmpeg sends an empty AAC sequence header before the real one when it
                    # remuxes ADTS audio (from TS) to FLV; like nginx-rtmp, wait for the next.
                    self.ignored += 1
                    continue
                self.tracks[tid] = self._audio_track(tid, packet)
            elif packet.kind is PacketKind.FRAME:
                track = self.tracks.get(tid)
                if track is None or track.codec is not packet.codec:
                    if packet.codec in (Codec.AAC, Codec.OPUS):
                        self.ignored += 1  # a raw frame before its configuration
                        continue
                    track = self.tracks[tid] = self._plain_audio_track(tid, packet)
                out.append(Frame(track, dts, dts, True, data=bytes(packet.payload)))
        return out

    def _audio_track(self, tid: int, packet: AudioPacket) -> Track:
        codec = packet.codec
        assert codec is not None
        config = bytes(packet.payload)
        track = Track(tid, codec, MediaKind.AUDIO, config=config)
        if codec is Codec.AAC:
            asc = AudioSpecificConfig.parse(config)
            track.sample_rate, track.channels = asc.sample_rate, asc.channels
        elif codec is Codec.OPUS:
            track.sample_rate = 48000
            if len(config) >= 10 and config.startswith(b"OpusHead"):
                track.channels = config[9]
        return track

    def _plain_audio_track(self, tid: int, packet: AudioPacket) -> Track:
        track = Track(tid, packet.codec or Codec.DATA, MediaKind.AUDIO)
        rate, channels = 0, 0
        if packet.codec is Codec.MP3:
            rate, channels = mp3_format(bytes(packet.payload[:4]))
        track.sample_rate = rate or packet.sample_rate
        track.channels = channels or packet.channels
        return track


def _set_size(track: Track, codec: str, sps: bytes) -> None:
    """Fill width/height from an SPS; a malformed SPS leaves them 0 (the stream still flows)."""
    try:
        info: Any = parse_h264_sps(sps) if codec == "h264" else parse_h265_sps(sps)
    except (ValueError, IndexError):  # every MediaError is a ValueError
        return
    track.width, track.height = info.width, info.height
