"""FLV (Adobe Flash Video v10.1 with Enhanced RTMP v1/v2): the container RTMP speaks and the DVR
records.

- :mod:`.tags`: the file header and tags (sans-I/O reader, writer functions);
- :mod:`.video`, :mod:`.audio`: tag bodies ↔ packets (legacy and enhanced, multitrack);
- :mod:`.script`, :mod:`.amf0`: ``onMetaData`` and the AMF0 encoding it uses;
- :mod:`.demuxer`, :mod:`.muxer`: tag bodies ↔ headwater frames and tracks.
"""

from headwater.media.flv.demuxer import FlvDemuxer, audio_track_id, video_track_id
from headwater.media.flv.muxer import FlvMuxer
from headwater.media.flv.tags import (
    AUDIO,
    SCRIPT,
    VIDEO,
    FlvError,
    FlvHeader,
    FlvReader,
    FlvTag,
    encode_header,
    encode_tag,
)

__all__ = [
    "AUDIO",
    "SCRIPT",
    "VIDEO",
    "FlvDemuxer",
    "FlvError",
    "FlvHeader",
    "FlvMuxer",
    "FlvReader",
    "FlvTag",
    "audio_track_id",
    "encode_header",
    "encode_tag",
    "video_track_id",
]
