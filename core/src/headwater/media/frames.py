"""The media model every part of headwater speaks: tracks and frames.

Protocol plugins turn their container (FLV, RTP, MPEG-TS) into :class:`Frame` objects on
the way in and back on the way out; nothing else in the server looks inside a container.
Every timestamp is an integer on the 90 kHz clock, whatever the track.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from headwater.media.annexb import access_unit_bounds, cut_units

CLOCK_RATE = 90_000
"""Ticks per second of every ``pts``/``dts`` in headwater."""

_new = object.__new__


class MediaKind(StrEnum):
    """What a track carries."""

    VIDEO = "video"
    AUDIO = "audio"
    DATA = "data"


class Codec(StrEnum):
    """Codec names as the API and config show them."""

    H264 = "h264"
    H265 = "h265"
    AV1 = "av1"
    VP9 = "vp9"
    AAC = "aac"
    OPUS = "opus"
    MP3 = "mp3"
    MP2 = "mp2"
    AC3 = "ac3"
    EAC3 = "eac3"
    PCMA = "pcma"
    PCMU = "pcmu"
    SCTE35 = "scte35"
    DATA = "data"


NAL_CODECS = frozenset({Codec.H264, Codec.H265})
"""Codecs whose frames carry ``nalus`` (an access unit) rather than ``data``."""

VIDEO_CODECS = frozenset({Codec.H264, Codec.H265, Codec.AV1, Codec.VP9})
AUDIO_CODECS = frozenset(
    {Codec.AAC, Codec.OPUS, Codec.MP3, Codec.MP2, Codec.AC3, Codec.EAC3, Codec.PCMA, Codec.PCMU}
)


def kind_of(codec: Codec) -> MediaKind:
    """Return the media kind a codec belongs to."""
    if codec in VIDEO_CODECS:
        return MediaKind.VIDEO
    if codec in AUDIO_CODECS:
        return MediaKind.AUDIO
    return MediaKind.DATA


@dataclass(slots=True, eq=False)
class Track:
    """One elementary stream of a publication.

    ``id`` is unique within the publication (the protocol's own track or PID number is
    fine). ``config`` holds the codec configuration that is a single blob
    (AudioSpecificConfig for AAC, the AV1 configuration OBUs, an OpusHead); for H.264 and
    H.265 the parameter sets go to ``parameter_sets`` instead, as raw NAL units in the order
    VPS, SPS, PPS. A publisher that learns a new configuration publishes a *new* Track object
    with the same ``id``: consumers notice ``frame.track is not last_track``.
    """

    id: int
    codec: Codec
    kind: MediaKind = MediaKind.DATA
    config: bytes = b""
    parameter_sets: tuple[bytes, ...] = ()
    width: int = 0
    height: int = 0
    sample_rate: int = 0
    channels: int = 0
    language: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind is MediaKind.DATA and self.codec not in (Codec.DATA, Codec.SCTE35):
            self.kind = kind_of(self.codec)

    @property
    def is_video(self) -> bool:
        """True for a video track."""
        return self.kind is MediaKind.VIDEO

    @property
    def is_audio(self) -> bool:
        """True for an audio track."""
        return self.kind is MediaKind.AUDIO

    def describe(self) -> dict[str, Any]:
        """What the API shows of this track (codec, resolution, sample rate...)."""
        info: dict[str, Any] = {
            "track_id": self.id,
            "content": self.kind.value,
            "codec": self.codec.value,
        }
        if self.width:
            info["width"] = self.width
            info["height"] = self.height
        if self.sample_rate:
            info["sample_rate"] = self.sample_rate
        if self.channels:
            info["channels"] = self.channels
        if self.language:
            info["language"] = self.language
        return info


class Frame:
    """One access unit (video) or one raw frame (audio, data) of a track.

    ``pts`` and ``dts`` are 90 kHz ticks on the publication's own time line. H.264/H.265
    frames carry ``nalus``: the NAL units of one access unit without start codes or length
    prefixes. Every other codec carries its raw frame in ``data`` (AAC without ADTS).

    ``flv_body`` is the FLV video tag body the frame arrived in (RTMP, FLV files) when
    writing the frame back to FLV gives exactly those bytes (H.264 in the legacy form,
    4-byte lengths, no empty NAL units). Only :class:`~headwater.media.flv.FlvDemuxer`
    sets it, so that RTMP play and push send the publisher's body as it came instead of
    joining the NAL units again; a frame made from another with other content must not
    copy it.

    A frame made by :meth:`from_flv_body` holds the body alone: its ``nalus`` are cut
    from the body the first time a consumer asks for them (and kept from then on), so a
    stream whose consumers all take the body (RTMP players, push) never holds its video
    twice, in the GOP cache or elsewhere. Setting ``nalus`` replaces the content and
    forgets the body.

    A frame made by :meth:`from_annexb` (the MPEG-TS demuxer's video) likewise holds the
    access unit as it arrived, Annex B bytes and where each NAL unit lies in them, and
    cuts its ``nalus`` when first asked for: a stream nobody reads unit by unit (no
    consumer, or only TS consumers, which take :meth:`nalu_views`) never copies them.
    A frame made by :meth:`from_access_unit` has not even been scanned for its units: they
    are found the first time a consumer asks for them.

    :attr:`size` is fixed when the frame is made and never changes afterwards (a
    subscription subtracts what it added): the units' bytes for most frames, the access
    unit as carried (start codes included) for the MPEG-TS demuxer's video.
    """

    __slots__ = (
        "_annexb",
        "_au",
        "_nalus",
        "_size",
        "data",
        "dts",
        "flv_body",
        "keyframe",
        "pts",
        "track",
    )

    def __init__(
        self,
        track: Track,
        pts: int,
        dts: int,
        keyframe: bool = False,
        data: bytes = b"",
        nalus: tuple[bytes, ...] = (),
        flv_body: bytes = b"",
    ) -> None:
        self.track = track
        self.pts = pts
        self.dts = dts
        self.keyframe = keyframe
        self.data = data
        self._nalus: tuple[bytes, ...] | None = nalus
        self.flv_body = flv_body
        self._size = 0
        self._annexb: tuple[bytes | bytearray, list[int] | None] | None = None
        self._au: tuple[int, int] | None = None

    @classmethod
    def from_flv_body(
        cls, track: Track, pts: int, dts: int, keyframe: bool, body: bytes, size: int
    ) -> Frame:
        """A video frame that holds its legacy AVC FLV body alone (4-byte NAL lengths from
        offset 5, no empty unit, already checked by the caller); ``size`` is the bytes of
        its NAL units. The units are cut from the body when first asked for."""
        frame = cls(track, pts, dts, keyframe, b"", (), body)
        frame._nalus = None
        frame._size = size
        return frame

    @classmethod
    def from_annexb(
        cls,
        track: Track,
        pts: int,
        dts: int,
        keyframe: bool,
        buffer: bytes | bytearray,
        bounds: list[int],
        size: int,
    ) -> Frame:
        """A video frame that holds its access unit in Annex B form: ``buffer`` (never
        changed afterwards) and ``bounds``, the flat ``[begin, end, ...]`` offsets of its
        NAL units in it (as :func:`~headwater.media.annexb.annexb_bounds` gives them, the
        units to leave out already taken out); ``size`` is the bytes of those units. The
        units are cut when first asked for."""
        frame = cls(track, pts, dts, keyframe)
        frame._nalus = None
        frame._annexb = (buffer, bounds)
        frame._size = size
        return frame

    @classmethod
    def from_access_unit(
        cls,
        track: Track,
        pts: int,
        dts: int,
        keyframe: bool,
        buffer: bytes | bytearray,
        start: int,
        end: int,
    ) -> Frame:
        """An H.264/H.265 frame that holds its access unit as carried in Annex B form,
        ``buffer[start:end]`` (never changed afterwards), not yet scanned for its units:
        they are found (AUDs left out, as :func:`~headwater.media.annexb.access_unit_bounds`
        gives them) and cut when first asked for. Its :attr:`size` is ``end - start``, the
        access unit as carried, start codes and delimiters included."""
        # every slot set here, without __init__: the MPEG-TS demuxer makes one per video PES
        frame = _new(cls)
        frame.track = track
        frame.pts = pts
        frame.dts = dts
        frame.keyframe = keyframe
        frame.data = b""
        frame._nalus = None
        frame.flv_body = b""
        frame._size = end - start
        frame._annexb = (buffer, None)
        frame._au = (start, end)
        return frame

    def _bounds(self, held: tuple[bytes | bytearray, list[int] | None]) -> list[int]:
        """The units' bounds of a frame holding an access unit (found now if not yet)."""
        bounds = held[1]
        if bounds is None:
            au = self._au
            assert au is not None
            bounds = access_unit_bounds(held[0], au[0], au[1], self.track.codec is Codec.H265)
            self._annexb = (held[0], bounds)
        return bounds

    @property
    def nalus(self) -> tuple[bytes, ...]:
        """The NAL units of the access unit (H.264/H.265), empty for other codecs."""
        nalus = self._nalus
        if nalus is None:
            held = self._annexb
            if held is None:
                nalus = _nalus_of_flv_body(self.flv_body)
            else:
                nalus = cut_units(held[0], self._bounds(held))
                self._annexb = None
            self._nalus = nalus
        return nalus

    def nalu_views(self) -> Sequence[bytes | memoryview]:
        """The NAL units as :attr:`nalus` gives them, but views into the FLV body for a
        frame that holds its body alone (nothing cut or kept): for a muxer that copies
        each unit once into its own output anyway, so the units are not copied twice."""
        nalus = self._nalus
        if nalus is not None:
            return nalus
        held = self._annexb
        if held is not None:
            bounds = self._bounds(held)
            view = memoryview(held[0])
            return [view[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2)]
        return _nalu_views_of_flv_body(self.flv_body)

    @nalus.setter
    def nalus(self, nalus: tuple[bytes, ...]) -> None:
        self._nalus = nalus
        self.flv_body = b""  # the body no longer says what the frame holds
        self._annexb = None
        self._size = 0

    @property
    def size(self) -> int:
        """Payload bytes of the frame: its NAL units' bytes (H.264/H.265), its ``data``
        (other codecs); for a frame the MPEG-TS demuxer made from a video PES, the access
        unit as carried (see :meth:`from_access_unit`). Fixed once the frame is made."""
        size = self._size
        if size:
            return size
        nalus = self._nalus
        if nalus:
            return sum(map(len, nalus))
        return len(self.data)

    def __repr__(self) -> str:
        return (
            f"Frame(track={self.track!r}, pts={self.pts!r}, dts={self.dts!r}, "
            f"keyframe={self.keyframe!r}, data={self.data!r}, nalus={self.nalus!r}, "
            f"flv_body={self.flv_body!r})"
        )


def _nalus_of_flv_body(body: bytes) -> tuple[bytes, ...]:
    """The NAL units of a checked legacy AVC body: 4-byte big-endian lengths from offset 5."""
    return tuple(body[start:end] for start, end in _unit_bounds(body))


def _nalu_views_of_flv_body(body: bytes) -> list[memoryview]:
    """:func:`_nalus_of_flv_body` as views into ``body`` (no unit copied)."""
    view = memoryview(body)
    n = len(body)
    if n > 9:  # one unit, or two (an encoder's AUD and the picture): most frames
        end = 9 + _U32.unpack_from(body, 5)[0]
        if end == n:
            return [view[9:]]
        if end + 4 < n and end + 4 + _U32.unpack_from(body, end)[0] == n:
            return [view[9:end], view[end + 4 :]]
    return [view[start:end] for start, end in _unit_bounds(body)]


def _unit_bounds(body: bytes) -> Iterator[tuple[int, int]]:
    """Where each NAL unit of a checked legacy AVC body begins and ends."""
    unpack = _U32.unpack_from
    pos, n = 5, len(body)
    while pos < n:
        start = pos + 4
        pos = start + unpack(body, pos)[0]
        yield start, pos


_U32 = struct.Struct(">I")
