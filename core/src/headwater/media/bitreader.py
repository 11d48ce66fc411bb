"""An MSB-first bit reader with Exp-Golomb codes (ITU-T H.264 7.2 and 9.1, H.265 7.2 and 9.2).

Parameter sets (SPS, VPS, PPS) are written as RBSP: NAL unit payloads in which every
``00 00 03`` sequence carries an emulation-prevention byte (H.264 7.4.1, H.265 7.4.2) that
must be removed before the bits can be read. :func:`unescape_rbsp` does that with
``bytes.replace`` (no per-byte Python loop); :class:`BitReader` then reads fields.
"""

from __future__ import annotations

from headwater.errors import MediaError


class BitstreamError(MediaError):
    """A bitstream (SPS, VPS...) ends early or holds a value its syntax does not allow."""


def unescape_rbsp(data: bytes | bytearray | memoryview) -> bytes:
    """Remove emulation-prevention bytes: every ``00 00 03`` becomes ``00 00``.

    ``bytes.replace`` scans left to right without overlap, which is exactly the decoder's
    rule: after an emulation-prevention byte the zero count starts again.
    """
    raw = bytes(data)
    if b"\x00\x00\x03" not in raw:
        return raw
    return raw.replace(b"\x00\x00\x03", b"\x00\x00")


class BitReader:
    """Reads unsigned fields, flags and Exp-Golomb codes MSB first from a byte string.

    The whole buffer is held as one Python integer, so each read is a shift and a mask.
    Parameter sets are small (tens of bytes), which is where this reader is used.
    """

    __slots__ = ("_bits", "_pos", "_value")

    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "big")
        self._bits = len(data) * 8
        self._pos = 0

    @property
    def position(self) -> int:
        """Bits read so far."""
        return self._pos

    @property
    def remaining(self) -> int:
        """Bits left to read."""
        return self._bits - self._pos

    def u(self, n: int) -> int:
        """Read an ``n``-bit unsigned field (``u(n)`` in the specifications)."""
        if n == 0:
            return 0
        end = self._pos + n
        if end > self._bits:
            raise BitstreamError(f"bitstream ends {end - self._bits} bits early")
        self._pos = end
        return (self._value >> (self._bits - end)) & ((1 << n) - 1)

    def flag(self) -> bool:
        """Read one bit as a boolean."""
        return bool(self.u(1))

    def skip(self, n: int) -> None:
        """Skip ``n`` bits."""
        if self._pos + n > self._bits:
            raise BitstreamError(f"bitstream ends {self._pos + n - self._bits} bits early")
        self._pos += n

    def ue(self) -> int:
        """Read an unsigned Exp-Golomb code (``ue(v)``, H.264 9.1)."""
        left = self._bits - self._pos
        if left <= 0:
            raise BitstreamError("bitstream ends before an Exp-Golomb code")
        rest = self._value & ((1 << left) - 1)
        if rest == 0:
            raise BitstreamError("Exp-Golomb code without a terminating 1 bit")
        zeros = left - rest.bit_length()
        if zeros > 31:
            raise BitstreamError(f"Exp-Golomb code with {zeros} leading zeros is out of range")
        self._pos += zeros
        return self.u(zeros + 1) - 1

    def se(self) -> int:
        """Read a signed Exp-Golomb code (``se(v)``, H.264 9.1.1)."""
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)
