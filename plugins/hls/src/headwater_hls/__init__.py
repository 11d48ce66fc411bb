"""headwater-hls: live HLS for every stream, whatever protocol published it.

``GET /{name}/index.m3u8`` starts a stream's HLS on first request; keyframe-aligned MPEG-TS
segments are cut in memory (``headwater.media.segmenter``) and listed in RFC 8216 playlists
(``headwater.media.hls``); nobody asking for ``hls_idle`` seconds stops it again.
"""
