"""headwater :class:`~headwater.media.frames.Frame` objects → FLV tags.

Used for RTMP play and push (each tag is one RTMP audio/video message) and by the DVR
to write FLV files. A new :class:`Track` object (or the first frame of a track) first
yields its sequence header. Timestamps go back to milliseconds: ``dts // 90`` and a
composition offset of ``pts // 90 - dts // 90``, exact for frames that came from FLV.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from headwater.media import h264, h265
from headwater.media.flv import audio, video
from headwater.media.flv.script import encode_metadata
from headwater.media.flv.tags import AUDIO, SCRIPT, VIDEO, FlvTag
from headwater.media.frames import Codec, Frame, Track

FLV_VIDEO = frozenset(video.CODEC_FOURCCS)
FLV_AUDIO = frozenset(audio.CODEC_FOURCCS) | frozenset(audio.LEGACY_IDS)
NEEDS_CONFIG = frozenset({Codec.H264, Codec.H265, Codec.AAC, Codec.AV1, Codec.VP9})


def opus_head(channels: int, sample_rate: int = 48000) -> bytes:
    """A minimal OpusHead (RFC 7845 5.1, mapping family 0) for a track that has none."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels or 2, 0, sample_rate, 0, 0)


def video_config_record(track: Track, frame: Frame | None = None) -> bytes:
    """The decoder configuration record for a video track ("" when none can be built).

    H.264/H.265 records are built from ``track.parameter_sets`` or, failing that, from
    parameter sets found in the frame (publishers over MPEG-TS send them in-band).
    """
    if track.codec is Codec.H264:
        sets: tuple[bytes, ...] | list[bytes] = track.parameter_sets
        if not sets and frame is not None:
            sets = frame.nalus
        sps, pps = h264.parameter_sets(sets)
        return h264.build_avc_config(sps, pps) if sps and pps else b""
    if track.codec is Codec.H265:
        sets = track.parameter_sets
        if not sets and frame is not None:
            sets = frame.nalus
        vps, sps, pps = h265.parameter_sets(sets)
        return h265.build_hevc_config(vps, sps, pps) if sps and pps else b""
    return track.config


class FlvMuxer:
    """Turns frames into FLV tags (sequence headers first).

    Only the first video and the first audio track are written, as FLV track 0, unless
    ``multitrack`` is set: then later tracks become Enhanced RTMP multitrack packets with
    FLV track ids 1, 2, ... in order of appearance. Frames of codecs FLV cannot carry, and
    frames that come before their track's configuration is known, are dropped and counted
    in :attr:`dropped`.
    """

    def __init__(self, multitrack: bool = False) -> None:
        self.multitrack = multitrack
        self.dropped = 0
        self._flv_track: dict[tuple[bool, int], int] = {}
        self._count = {True: 0, False: 0}
        self._configured: dict[tuple[bool, int], Track] = {}
        self._ready: dict[Track, tuple[bool, int, bytes]] = {}
        """Configured Track objects → (is video, FLV track, audio body prefix): the fast path."""

    def metadata(self, metadata: dict[str, Any], timestamp: int = 0) -> FlvTag:
        """An ``onMetaData`` script tag."""
        return FlvTag(SCRIPT, timestamp, encode_metadata(metadata))

    def _flv_track_of(self, track: Track) -> int | None:
        key = (track.is_video, track.id)
        flv = self._flv_track.get(key)
        if flv is None:
            flv = self._count[track.is_video]
            if flv > 0 and not self.multitrack:
                return None
            if flv > 255:
                return None
            self._count[track.is_video] = flv + 1
            self._flv_track[key] = flv
        return flv

    def frame(self, frame: Frame) -> list[FlvTag]:
        """The tags for one frame: maybe a sequence header, then the frame itself."""
        track = frame.track
        ready = self._ready.get(track)
        if ready is not None:  # the per-frame path: a track already configured
            is_video, flv, prefix = ready
            ts = frame.dts // 90
            if is_video:
                body = frame.flv_body  # the publisher's own body when it is exactly ours
                if not body or flv:
                    body = video.encode_video_frame(
                        track.codec,
                        frame.keyframe,
                        frame.pts // 90 - ts,
                        frame.nalus,
                        frame.data,
                        flv,
                    )
                return [FlvTag(VIDEO, ts, body)]
            return [FlvTag(AUDIO, ts, prefix + frame.data)]
        return self._first_frame(frame)

    def bodies(self, frames: Iterable[Frame]) -> list[tuple[int, int, bytes]]:
        """``(kind, timestamp, body)`` of the tags of several frames in order: the tags
        :meth:`frame` gives for each, as plain tuples, in one pass (a player's turn: no
        :class:`FlvTag` and no call per frame of a configured track)."""
        out: list[tuple[int, int, bytes]] = []
        append = out.append
        ready_of = self._ready.get
        encode = video.encode_video_frame
        for frame in frames:
            track = frame.track
            ready = ready_of(track)
            if ready is None:
                for tag in self._first_frame(frame):
                    append((tag.kind, tag.timestamp, tag.data))
                continue
            is_video, flv, prefix = ready
            ts = frame.dts // 90
            if is_video:
                body = frame.flv_body  # the publisher's own body when it is exactly ours
                if not body or flv:
                    body = encode(track.codec, frame.keyframe, frame.pts // 90 - ts,
                                  frame.nalus, frame.data, flv)  # fmt: skip
                append((VIDEO, ts, body))
            else:
                append((AUDIO, ts, prefix + frame.data))
        return out

    def _first_frame(self, frame: Frame) -> list[FlvTag]:
        """:meth:`frame` for a track not configured yet: checks, sequence header, frame."""
        track = frame.track
        codec = track.codec
        if not (codec in FLV_VIDEO if track.is_video else codec in FLV_AUDIO) or not (
            track.is_video or track.is_audio
        ):
            self.dropped += 1
            return []
        flv = self._flv_track_of(track)
        if flv is None:
            self.dropped += 1
            return []
        key = (track.is_video, track.id)
        ts = frame.dts // 90
        out: list[FlvTag] = []
        if self._configured.get(key) is not track:
            header = self._sequence_header(track, frame, flv)
            if header is None:
                if codec in NEEDS_CONFIG:
                    self.dropped += 1
                    return []
            else:
                out.append(FlvTag(VIDEO if track.is_video else AUDIO, ts, header))
            replaced = self._configured.get(key)
            if replaced is not None:
                self._ready.pop(replaced, None)
            self._configured[key] = track
            prefix = b""
            if not track.is_video:
                prefix = audio.encode_audio_frame(
                    codec, b"", flv, track.sample_rate, track.channels
                )
            self._ready[track] = (track.is_video, flv, prefix)
        if track.is_video:
            cts = frame.pts // 90 - ts
            body = video.encode_video_frame(
                codec, frame.keyframe, cts, frame.nalus, frame.data, flv
            )
            out.append(FlvTag(VIDEO, ts, body))
        else:
            body = audio.encode_audio_frame(
                codec, frame.data, flv, track.sample_rate, track.channels
            )
            out.append(FlvTag(AUDIO, ts, body))
        return out

    def _sequence_header(self, track: Track, frame: Frame, flv: int) -> bytes | None:
        codec = track.codec
        if track.is_video:
            record = video_config_record(track, frame)
            return video.encode_video_config(codec, record, flv) if record else None
        if codec is Codec.AAC:
            return audio.encode_audio_config(codec, track.config, flv) if track.config else None
        if codec is Codec.OPUS:
            head = track.config or opus_head(track.channels, track.sample_rate or 48000)
            return audio.encode_audio_config(codec, head, flv)
        if not audio.is_legacy(codec, flv) and track.config:
            return audio.encode_audio_config(codec, track.config, flv)
        return None
