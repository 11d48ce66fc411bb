"""headwater-hls: live HLS for every stream, whatever protocol published it.

``GET /{name}/index.m3u8`` starts a stream's HLS on first request; keyframe-aligned MPEG-TS
segments are cut in memory (``headwater.media.segmenter``) and listed in RFC 8216 playlists
(``headwater.media.hls``); nobody asking for ``hls_idle`` seconds stops it again.
``/{name}/tracks-v1a1/…`` serves the selected tracks only (:mod:`headwater_hls.tracks`);
``/{name}/index.ll.m3u8`` is low-latency HLS with fMP4 parts and blocking playlist reload
(:mod:`headwater_hls.part_window`, :mod:`headwater_hls.low_latency_routes`).
"""
