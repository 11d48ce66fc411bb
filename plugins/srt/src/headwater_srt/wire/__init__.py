"""The SRT wire layer: bytes in, protocol messages out (draft-sharabayko-srt).

No socket or anyio import lives here; everything is driven by the caller with bytes and a
clock value in microseconds.
"""
