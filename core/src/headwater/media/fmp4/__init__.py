"""Fragmented MP4 (CMAF) writing for low-latency HLS: init segments and fragments.

Sans-I/O like the rest of :mod:`headwater.media`: :func:`init_segment` turns tracks and
their configuration records into ``ftyp``+``moov``; :func:`fragment` turns samples into
``moof``+``mdat``. :mod:`~headwater.media.fmp4.muxer` maps headwater frames onto them.
"""

from headwater.media.fmp4.box import box, full_box
from headwater.media.fmp4.fragment import Sample, TrackRun, fragment
from headwater.media.fmp4.init_segment import InitTrack, init_segment
from headwater.media.fmp4.muxer import SUPPORTED, FragmentMuxer, MuxerNotReady

__all__ = [
    "SUPPORTED",
    "FragmentMuxer",
    "InitTrack",
    "MuxerNotReady",
    "Sample",
    "TrackRun",
    "box",
    "fragment",
    "full_box",
    "init_segment",
]
