"""Bounds every depacketizer keeps, so that a peer cannot make us hold unbounded memory."""

MAX_NALUS = 1024
"""NAL units in one access unit."""
MAX_ACCESS_UNIT = 16 << 20
"""Bytes in one access unit (or one fragmented audio frame)."""
MTU_PAYLOAD = 1400
"""Default largest RTP payload we send (fits an Ethernet MTU with IP, UDP and RTP headers)."""
