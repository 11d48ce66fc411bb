"""headwater frames → fMP4: the init segment of a publication and its fragments.

:class:`FragmentMuxer` numbers the supported tracks of a publication as fMP4 tracks 1..N
(in track id order), builds their configuration records (from ``Track.parameter_sets`` or,
for publishers that send them in-band, from the first keyframe) and turns groups of
frames into ``moof``+``mdat`` fragments:

- H.264/H.265 access units are written with 4-byte NAL unit lengths (14496-15), access
  unit delimiters left out; AAC raw frames as they are;
- decode times are the frames' DTS on the 90 kHz clock, counted from a publication origin
  one second before the first frame (so audio slightly earlier than the first keyframe still
  has a non-negative time); composition offsets are ``pts - dts``;
- a sample's duration is the next sample's DTS minus its own; the last sample of a fragment
  takes the track's previous duration (the next fragment's ``tfdt`` puts it right again).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

from headwater.errors import MediaError
from headwater.media import h264, h265
from headwater.media.avcc import join_avcc
from headwater.media.flv.muxer import video_config_record
from headwater.media.fmp4.fragment import Sample, TrackRun, fragment
from headwater.media.fmp4.init_segment import InitTrack, init_segment
from headwater.media.frames import CLOCK_RATE, Codec, Frame, Track
from headwater.media.h264_sps import parse_h264_sps
from headwater.media.h265_sps import parse_h265_sps

SUPPORTED = frozenset({Codec.H264, Codec.H265, Codec.AAC})
"""Codecs fMP4 output carries (what LL-HLS players decode); other tracks are left out."""
ORIGIN_MARGIN = CLOCK_RATE
"""Ticks between a publication's origin (decode time 0) and its first frame."""


class MuxerNotReady(MediaError):
    """A track's configuration is not known yet (no parameter sets, no AAC config)."""


def _is_aud(codec: Codec, nalu: bytes) -> bool:
    if not nalu:
        return True
    if codec is Codec.H264:
        return nalu[0] & 0x1F == h264.NAL_AUD
    return (nalu[0] >> 1) & 0x3F == h265.NAL_AUD


def _size(track: Track, record_sets: Iterable[bytes]) -> tuple[int, int]:
    if track.width and track.height:
        return track.width, track.height
    for nalu in record_sets:
        try:
            if track.codec is Codec.H264 and nalu and nalu[0] & 0x1F == 7:
                info = parse_h264_sps(nalu)
                return info.width, info.height
            if track.codec is Codec.H265 and nalu and (nalu[0] >> 1) & 0x3F == 33:
                info2 = parse_h265_sps(nalu)
                return info2.width, info2.height
        except MediaError:
            continue
    return 0, 0


class FragmentMuxer:
    """The fMP4 writer of one publication (one init segment, many fragments).

    :param tracks: the publication's tracks; those of unsupported codecs are ignored.
    :param first_dts: DTS of the publication's first frame (sets the decode time origin).
    """

    def __init__(self, tracks: Sequence[Track], first_dts: int) -> None:
        self.tracks = sorted((t for t in tracks if t.codec in SUPPORTED), key=lambda t: t.id)
        self.track_ids = {t.id: n for n, t in enumerate(self.tracks, start=1)}
        self.origin = first_dts - ORIGIN_MARGIN
        self.sequence = 0
        """The ``mfhd`` sequence number of the last fragment written."""
        self._last_duration: dict[int, int] = {}

    def carries(self, frame: Frame) -> bool:
        """Whether ``frame`` belongs to one of the muxed tracks."""
        return frame.track.id in self.track_ids

    def init_segment(self, keyframe: Frame | None = None) -> bytes:
        """``ftyp``+``moov``; ``keyframe`` supplies in-band parameter sets if needed.

        :raises MuxerNotReady: a track's configuration is still unknown.
        """
        if not self.tracks:
            raise MuxerNotReady("no track of a codec fMP4 carries (H.264, H.265, AAC)")
        entries = []
        for track in self.tracks:
            n = self.track_ids[track.id]
            if track.is_video:
                frame = keyframe if keyframe is not None and keyframe.track.id == track.id else None
                record = video_config_record(track, frame)
                if not record:
                    raise MuxerNotReady(f"no parameter sets yet for {track.codec} track {track.id}")
                sets = track.parameter_sets or (frame.nalus if frame else ())
                width, height = _size(track, sets)
                entries.append(InitTrack(track, n, record, width, height))
            else:
                if not track.config:
                    raise MuxerNotReady(f"no AudioSpecificConfig for AAC track {track.id}")
                entries.append(InitTrack(track, n, track.config))
        return init_segment(entries)

    def _default_duration(self, track: Track) -> int:
        if track.is_audio:
            return 1024 * CLOCK_RATE // (track.sample_rate or 48000)
        return CLOCK_RATE // 25

    def _sample(self, frame: Frame, duration: int) -> Sample:
        if frame.nalus:
            codec = frame.track.codec
            data = join_avcc(n for n in frame.nalus if not _is_aud(codec, n))
        else:
            data = frame.data
        sync = frame.keyframe or not frame.track.is_video
        return Sample(data, duration, frame.pts - frame.dts, sync)

    def fragment(self, frames: Sequence[Frame]) -> bytes:
        """One ``moof``+``mdat`` of ``frames`` (those of muxed tracks, in DTS order per
        track), numbered with the next sequence number."""
        by_track: dict[int, list[Frame]] = {}
        for frame in frames:
            if frame.track.id in self.track_ids:
                by_track.setdefault(frame.track.id, []).append(frame)
        runs = []
        for tid, track_frames in sorted(by_track.items(), key=lambda kv: self.track_ids[kv[0]]):
            samples = []
            for this, after in pairwise(track_frames):
                duration = after.dts - this.dts
                if duration > 0:
                    self._last_duration[tid] = duration
                samples.append(self._sample(this, max(duration, 0)))
            last = track_frames[-1]
            default = self._last_duration.get(tid) or self._default_duration(last.track)
            samples.append(self._sample(last, default))
            decode_time = max(0, track_frames[0].dts - self.origin)
            runs.append(TrackRun(self.track_ids[tid], decode_time, samples))
        self.sequence += 1
        return fragment(self.sequence, runs)
