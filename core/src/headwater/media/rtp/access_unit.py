"""What the H.264 and H.265 depacketizers share (RFC 6184 5.6-5.8, RFC 7798 4.4): access
units gathered from RTP packets, closed at the marker bit or a timestamp change, NAL units
from aggregation packets, fragments put back together (a gap in the sequence drops the
fragment in progress), Annex B payloads unwrapped, and the limits of :mod:`.limits`.
A codec's depacketizer says how to read one payload (:meth:`NALDepacketizer._payload`)."""

from __future__ import annotations

from headwater.media.annexb import split_annexb
from headwater.media.rtp.depacketizer import Depacketizer
from headwater.media.rtp.limits import MAX_ACCESS_UNIT, MAX_NALUS

AccessUnit = tuple[int, list[bytes]]
"""(RTP timestamp, NAL units) of one access unit."""

ANNEX_B = (b"\x00\x00\x00\x01", b"\x00\x00\x01")


class NALDepacketizer(Depacketizer[AccessUnit]):
    """RTP packets of one NAL-unit video stream in sequence order → access units.

    Payloads may be ``bytes`` or zero-copy ``memoryview`` slices of what the socket read:
    a fragmented NAL unit keeps its fragments as they came and is joined once, when its
    last fragment arrives; every NAL unit handed out is ``bytes``.

    Middle fragments are most packets of a video stream, so their handling is a public
    contract that a caller with a cheaper way to spot them (one pass over a read of
    interleaved packets) may apply itself: a packet whose sequence number is
    :attr:`next_sequence` and whose timestamp is :attr:`timestamp`, without the marker,
    with :attr:`fragment` not None and a fragmentation unit payload (``payload[0] &
    FU_MASK == FU_VALUE``) whose start and end bits (``payload[FU_HEADER_AT] & 0xC0``)
    are clear, is taken by appending ``payload[FU_HEADER_AT + 1:]`` to :attr:`fragment`,
    adding its length to :attr:`fragment_size` (at most ``MAX_ACCESS_UNIT``) and
    advancing :attr:`next_sequence` by one (modulo 2**16): exactly what
    :meth:`push_fields` does with it.
    """

    def __init__(self) -> None:
        self.dropped = 0
        """Packets or NAL units thrown away (loss inside a fragment, unsupported packet
        types, limits)."""
        self._nalus: list[bytes] = []
        self._size = 0
        self.timestamp: int | None = None
        """The RTP timestamp of the access unit in progress."""
        self.fragment: list[bytes | memoryview] | None = None
        """The rebuilt NAL header and the fragments so far of the NAL unit in progress."""
        self.fragment_size = 0
        """Bytes in :attr:`fragment`."""
        self.next_sequence: int | None = None
        """The sequence number that continues the packets taken so far."""
        self._fu_mask, self._fu_value, self._fu_at = self.FU_MASK, self.FU_VALUE, self.FU_HEADER_AT
        """The codec's constants as instance attributes (the fastest lookup per packet)."""

    FU_MASK = 0
    FU_VALUE = -1
    """``payload[0] & FU_MASK == FU_VALUE`` for a fragmentation unit (set by each codec)."""
    FU_HEADER_AT = 1
    """Where the FU header (start and end bits) is; the fragment's data follows it."""

    def push_fields(
        self,
        sequence: int,
        timestamp: int,
        marker: bool,
        payload: bytes | memoryview,
        start: int = 0,
    ) -> list[AccessUnit]:
        """:meth:`push` from the header fields (the per-packet path: no packet object); the
        payload is ``payload[start:]``, so that a caller holding the whole RTP packet need
        not slice it (a middle fragment is then sliced once, for keeping)."""
        fragment = self.fragment
        if (
            fragment is not None
            and sequence == self.next_sequence
            and timestamp == self.timestamp
            and not marker
            and len(payload) > (at := start + self._fu_at)
            and payload[start] & self._fu_mask == self._fu_value
            and not payload[at] & 0xC0
        ):  # the common case: a middle fragment, kept as it is
            self.next_sequence = (sequence + 1) & 0xFFFF
            part = payload[at + 1 :]
            fragment.append(part)
            size = self.fragment_size = self.fragment_size + len(part)
            if size > MAX_ACCESS_UNIT:
                self.fragment = None
                self.dropped += 1
            return []
        if start:
            payload = payload[start:]
        out: list[AccessUnit] = []
        if self.timestamp is not None and timestamp != self.timestamp:
            self.fragment = None
            self._close(out)
        if self.next_sequence is not None and sequence != self.next_sequence:
            self.fragment = None  # a gap: a fragment in progress cannot be completed
        self.next_sequence = (sequence + 1) & 0xFFFF
        self.timestamp = timestamp
        if not payload:
            pass
        elif not payload[0] and bytes(payload[:4]).startswith(ANNEX_B):
            for nalu in split_annexb(bytes(payload)):  # an encoder that sends Annex B
                self._add(nalu)
        else:
            self._payload(payload)
        if marker:
            self.fragment = None
            self._close(out)
        return out

    def flush(self) -> list[AccessUnit]:
        """The access unit in progress, if any (at the end of the stream)."""
        out: list[AccessUnit] = []
        self._close(out)
        return out

    def _payload(self, payload: bytes | memoryview) -> None:
        """Read one packet's payload (single NAL unit, aggregation or fragment)."""
        raise NotImplementedError

    def _aggregate(self, payload: bytes | memoryview, pos: int, smallest: int) -> None:
        """The NAL units of an aggregation packet from ``pos``: 16-bit size, then the unit."""
        n = len(payload)
        while pos + 2 <= n:
            size = (payload[pos] << 8) | payload[pos + 1]
            pos += 2
            if size < smallest or pos + size > n:
                self.dropped += 1
                return
            self._add(bytes(payload[pos : pos + size]))
            pos += size

    def _fragment_part(
        self, start: bool, end: bool, header: bytes, data: bytes | memoryview
    ) -> None:
        """One fragment: ``header`` (the rebuilt NAL header) opens a unit when ``start``."""
        if start:
            self.fragment = [header]
            self.fragment_size = len(header)
        elif self.fragment is None:
            self.dropped += 1  # the start was lost
            return
        fragment = self.fragment
        fragment.append(data)
        self.fragment_size += len(data)
        if self.fragment_size > MAX_ACCESS_UNIT:
            self.fragment = None
            self.dropped += 1
            return
        if end:
            self.fragment = None
            self._add(b"".join(fragment))

    def _add(self, nalu: bytes) -> None:
        if len(self._nalus) >= MAX_NALUS or self._size + len(nalu) > MAX_ACCESS_UNIT:
            self.dropped += 1
            return
        self._nalus.append(nalu)
        self._size += len(nalu)

    def _close(self, out: list[AccessUnit]) -> None:
        if self._nalus and self.timestamp is not None:
            out.append((self.timestamp, self._nalus))
        self._nalus = []
        self._size = 0
