"""Runs of plain continuation packets in received MPEG-TS (ISO/IEC 13818-1 2.4.3.2).

Most packets of a received stream continue a video PES: the same PID, no payload start,
no adaptation field, the continuity counter one more than the packet before. The demuxer
(:class:`~headwater.media.mpegts.reader.TSReader`) takes such a run into its PES as one
slice instead of packet by packet; this module finds where a feed breaks into runs
(:func:`run_marks`) and holds the headers a run of a given start continues with
(:class:`RunHeaders`, for the small-feed path that compares a datagram's headers at once).
"""

from __future__ import annotations

from headwater.media.mpegts.packet import PACKET_SIZE

_SUCCESSOR = bytes((v & 0xF0) | ((v + 1) & 15) for v in range(256))
"""Byte 3 of the next plain continuation: the same flags, the continuity counter plus one."""

_NONZERO = bytes((0, *(1,) * 255))
"""Every byte but zero to 1."""

_NOT_CC = 0xFFFFFFF0
"""Every header bit but the continuity counter."""


def run_marks(buf: bytes, off: int, end: int, k: int) -> bytes:
    """Where the ``k`` packets from ``off`` break into runs: ``k`` bytes, byte ``i`` 1 when
    packet ``i`` begins a run (packet 0 always), 0 when it continues the run before it.

    A packet begins a run when its bytes 1-2 (flags, PID) differ from the packet before or
    its byte 3 is not ``_SUCCESSOR`` of the one before (the same flags, the next counter).
    A run that begins with a plain continuation is therefore all plain continuations of
    one PID with counters in sequence (the successor keeps the plain flags); a run that
    begins with any other packet goes packet by packet in the demuxer, so look-alike
    unusual packets in a row cost time, never correctness. Each header byte of every
    packet is one strided ``bytes`` slice read as one big integer, 8 bits per packet (the
    first packet in the top byte): the comparisons of all packets with their predecessors
    are a few integer operations, turned back into bytes (one per packet); the caller
    reads the run lengths from one ``split(b"\x01")`` of them, so only the runs (a few
    per PES) are visited in Python.
    """
    b3 = buf[off + 3 : end : PACKET_SIZE]
    one = int.from_bytes(buf[off + 1 : end : PACKET_SIZE], "big")
    two = int.from_bytes(buf[off + 2 : end : PACKET_SIZE], "big")
    three = int.from_bytes(b3, "big")
    nxt = int.from_bytes(b3.translate(_SUCCESSOR), "big")
    # packet i's byte sits 8 bits below packet i - 1's: shifting by 8 lines each up
    # with its predecessor; the top byte (packet 0, compared with nothing) is set
    diff = (one ^ (one >> 8)) | (two ^ (two >> 8)) | (three ^ (nxt >> 8)) | (1 << 8 * k - 8)
    return diff.to_bytes(k, "big").translate(_NONZERO)


class RunHeaders(dict[int, tuple[int, ...]]):
    """Header word → the headers of the ``length`` plain continuations that begin with it
    (the counter going round), each made when first asked for.

    The demuxer keeps one per program: built eagerly for every PID and counter it was some
    2,000 tuples of 64 integers per PMT (a millisecond for each new publisher), of which a
    stream uses a few.
    """

    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = length

    def __missing__(self, h: int) -> tuple[int, ...]:
        run = self[h] = tuple((h & _NOT_CC) | ((h + i) & 15) for i in range(self.length))
        return run
