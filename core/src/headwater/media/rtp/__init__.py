"""RTP (RFC 3550) for headwater: packets, RTCP reports, sequence order, clocks, and the
payload formats of each codec (depacketizers for publishers, packetizers for players).

Sans-I/O like the rest of :mod:`headwater.media`: bytes and packets in, frames or bytes out.
"""

from headwater.media.rtp.packet import RTPError, RTPPacket, is_rtcp, parse_rtp, rtp_header

__all__ = ["RTPError", "RTPPacket", "is_rtcp", "parse_rtp", "rtp_header"]
