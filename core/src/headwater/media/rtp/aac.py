"""AAC over RTP, ``mpeg4-generic`` (RFC 3640): depacketizer and packetizer.

The payload is an AU header section (16-bit length in bits, then per access unit its size
and index, ``sizelength``/``indexlength``/``indexdeltalength`` bits from the fmtp; AAC-hbr
is 13/3/3, AAC-lbr 6/2/2) followed by the access units (3.2, 3.3). Several AUs in one packet
get consecutive timestamps, one frame (1024 samples) apart; one AU larger than a packet is
fragmented over packets with the same timestamp, the marker on the last (3.2.3.1).
"""

from __future__ import annotations

from collections.abc import Mapping

from headwater.media.rtp.depacketizer import AudioFrame, Depacketizer
from headwater.media.rtp.limits import MAX_ACCESS_UNIT, MTU_PAYLOAD
from headwater.media.rtp.packet import RTPError

SAMPLES_PER_FRAME = 1024


class AACDepacketizer(Depacketizer[AudioFrame]):
    """RTP packets of one ``mpeg4-generic`` stream in sequence order → raw AAC frames."""

    def __init__(self, fmtp: Mapping[str, str] | None = None) -> None:
        params = {k.lower(): v for k, v in (fmtp or {}).items()}
        try:
            self.size_length = int(params.get("sizelength", "13") or 13)
            self.index_length = int(params.get("indexlength", "3") or 3)
            self.index_delta_length = int(params.get("indexdeltalength", "3") or 3)
        except ValueError:
            raise RTPError("mpeg4-generic fmtp has a non-numeric length") from None
        if not (1 <= self.size_length <= 16) or not (0 <= self.index_length <= 8):
            raise RTPError("mpeg4-generic fmtp lengths out of range")
        if not (0 <= self.index_delta_length <= 8):
            raise RTPError("mpeg4-generic fmtp lengths out of range")
        self._hbr = (self.size_length, self.index_length, self.index_delta_length) == (13, 3, 3)
        """AAC-hbr's AU headers (13-bit size, 3-bit index and delta): two bytes each, the
        fast path of :meth:`push_fields`."""
        self.dropped = 0
        self._fragment: bytearray | None = None
        self._fragment_size = 0
        self._fragment_ts = 0
        self._next_seq: int | None = None

    def push_fields(
        self,
        sequence: int,
        timestamp: int,
        marker: bool,
        data: bytes | memoryview,
        start: int = 0,
    ) -> list[AudioFrame]:
        """:meth:`push` from the header fields (the per-packet path: no packet object); the
        payload is ``data[start:]``."""
        if self._next_seq is not None and sequence != self._next_seq:
            self._fragment = None
        self._next_seq = (sequence + 1) & 0xFFFF
        if self._hbr and self._fragment is None and len(data) > start + 3 and not data[start]:
            # the common case (AAC-hbr, whole AUs): each AU header is two bytes, read in place
            bits = data[start + 1]
            count = bits >> 4
            at = start + 2
            pos = at + ((bits + 7) >> 3)
            n = len(data)
            if count and pos <= n:
                sizes = [(data[i] << 5) | (data[i + 1] >> 3) for i in range(at, at + 2 * count, 2)]
                if count > 1 or sizes[0] <= n - pos:
                    out: list[AudioFrame] = []
                    for i, size in enumerate(sizes):
                        if pos + size > n:
                            self.dropped += 1
                            break
                        ts = (timestamp + i * SAMPLES_PER_FRAME) & 0xFFFFFFFF
                        out.append((ts, bytes(data[pos : pos + size])))
                        pos += size
                    return out
        if start:
            data = data[start:]
        n = len(data)
        if n < 2:
            self.dropped += 1
            return []
        header_bits = (data[0] << 8) | data[1]
        header_bytes = (header_bits + 7) // 8
        if 2 + header_bytes > n:
            self.dropped += 1
            return []
        sizes = self._sizes(
            int.from_bytes(data[2 : 2 + header_bytes], "big"), header_bits, header_bytes
        )
        if not sizes:
            self.dropped += 1
            return []
        pos = 2 + header_bytes
        ts = timestamp
        if self._fragment is not None:
            if ts != self._fragment_ts or len(sizes) != 1:
                self._fragment = None
                self.dropped += 1
            else:
                self._fragment += data[pos:]
                if len(self._fragment) >= self._fragment_size or marker:
                    frame = bytes(self._fragment[: self._fragment_size])
                    complete = len(self._fragment) >= self._fragment_size
                    self._fragment = None
                    if complete:
                        return [(ts, frame)]
                    self.dropped += 1
                return []
        if len(sizes) == 1 and sizes[0] > n - pos:
            if sizes[0] > MAX_ACCESS_UNIT:
                self.dropped += 1
                return []
            self._fragment = bytearray(data[pos:])
            self._fragment_size = sizes[0]
            self._fragment_ts = ts
            return []
        out: list[AudioFrame] = []
        for i, size in enumerate(sizes):
            if pos + size > n:
                self.dropped += 1
                break
            out.append(((ts + i * SAMPLES_PER_FRAME) & 0xFFFFFFFF, bytes(data[pos : pos + size])))
            pos += size
        return out

    def _sizes(self, bits: int, total: int, nbytes: int) -> list[int]:
        sizes: list[int] = []
        shift = nbytes * 8
        used = 0
        first = True
        while used < total:
            width = self.size_length + (self.index_length if first else self.index_delta_length)
            if used + width > total:
                break
            shift -= width
            value = (bits >> shift) & ((1 << width) - 1)
            sizes.append(value >> (width - self.size_length))
            used += width
            first = False
        return sizes

    def flush(self) -> list[AudioFrame]:
        """Nothing is held between packets except an incomplete fragment, which is lost."""
        self._fragment = None
        return []


def packetize_aac(frame: bytes, mtu: int = MTU_PAYLOAD) -> list[tuple[bytes, bool]]:
    """RTP payloads (AAC-hbr, one AU per packet, fragmented when large) for one raw frame."""
    if len(frame) >= 1 << 13:
        raise ValueError(f"AAC frame of {len(frame)} bytes does not fit a 13-bit AU size")
    header = b"\x00\x10" + ((len(frame) << 3) & 0xFFFF).to_bytes(2, "big")
    room = mtu - 4
    if len(frame) <= room:
        return [(header + frame, True)]
    chunks = [frame[i : i + room] for i in range(0, len(frame), room)]
    return [(header + c, i == len(chunks) - 1) for i, c in enumerate(chunks)]


def aac_fmtp(config: bytes, payload_type: int) -> str:
    """The ``a=fmtp`` value announcing AAC-hbr with this AudioSpecificConfig."""
    return (
        f"{payload_type} profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
        f"indexdeltalength=3;config={config.hex()}"
    )
