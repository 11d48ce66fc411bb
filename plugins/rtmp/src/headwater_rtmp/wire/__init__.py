"""The RTMP wire layer, sans-I/O: handshake (:mod:`.handshake`), chunk stream (read by
:mod:`.chunk_stream`, written by :mod:`.chunk_writer`), protocol control messages
(:mod:`.messages`), commands (:mod:`.commands`) and AMF3 (:mod:`.amf3`; AMF0 lives in
:mod:`headwater.media.flv.amf0` because FLV script tags use it too). No socket or anyio
import anywhere below here.
"""
