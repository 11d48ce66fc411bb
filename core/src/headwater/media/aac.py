"""AAC framing: AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) and ADTS headers (13818-7 6.2)."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.errors import MediaError

SAMPLE_RATES = (
    96000,
    88200,
    64000,
    48000,
    44100,
    32000,
    24000,
    22050,
    16000,
    12000,
    11025,
    8000,
    7350,
)
SAMPLES_PER_FRAME = 1024


class AACError(MediaError):
    """An AudioSpecificConfig or ADTS header cannot be parsed."""


@dataclass(frozen=True, slots=True)
class AudioSpecificConfig:
    """The fields of an AudioSpecificConfig that framing needs."""

    object_type: int
    sample_rate: int
    channels: int
    frequency_index: int

    @classmethod
    def parse(cls, data: bytes) -> AudioSpecificConfig:
        """Parse the first bytes of an AudioSpecificConfig (escape values supported)."""
        if len(data) < 2:
            raise AACError("AudioSpecificConfig shorter than 2 bytes")
        bits = int.from_bytes(data[:5].ljust(5, b"\0"), "big")
        pos = 40

        def take(n: int) -> int:
            nonlocal pos
            pos -= n
            if pos < 0:
                raise AACError("AudioSpecificConfig truncated")
            return (bits >> pos) & ((1 << n) - 1)

        object_type = take(5)
        if object_type == 31:
            object_type = 32 + take(6)
        freq_index = take(4)
        if freq_index == 15:
            sample_rate = take(24)
        elif freq_index < len(SAMPLE_RATES):
            sample_rate = SAMPLE_RATES[freq_index]
        else:
            raise AACError(f"reserved sampling frequency index {freq_index}")
        channels = take(4)
        return cls(object_type, sample_rate, channels, freq_index)

    def to_bytes(self) -> bytes:
        """Serialize a plain 2-byte AudioSpecificConfig (object type < 31, indexed rate)."""
        value = (self.object_type << 11) | (self.frequency_index << 7) | (self.channels << 3)
        return value.to_bytes(2, "big")

    @classmethod
    def build(cls, object_type: int, sample_rate: int, channels: int) -> AudioSpecificConfig:
        """Make a config for a standard sample rate."""
        try:
            index = SAMPLE_RATES.index(sample_rate)
        except ValueError as exc:
            raise AACError(f"sample rate {sample_rate} has no ADTS index") from exc
        return cls(object_type, sample_rate, channels, index)


@dataclass(frozen=True, slots=True)
class ADTSHeader:
    """One parsed ADTS header."""

    object_type: int
    frequency_index: int
    channels: int
    header_size: int
    frame_size: int
    """Header plus payload bytes."""
    frames: int
    """Raw data blocks in this ADTS frame (almost always 1)."""

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return SAMPLE_RATES[self.frequency_index]

    def config(self) -> AudioSpecificConfig:
        """The AudioSpecificConfig this header implies."""
        return AudioSpecificConfig(
            self.object_type, self.sample_rate, self.channels, self.frequency_index
        )


def parse_adts_header(data: bytes | memoryview, offset: int = 0) -> ADTSHeader:
    """Parse the ADTS header at ``offset``; raise :class:`AACError` if it is not one."""
    if len(data) - offset < 7:
        raise AACError("ADTS header truncated")
    b = bytes(data[offset : offset + 7])
    if b[0] != 0xFF or (b[1] & 0xF6) != 0xF0:
        raise AACError("no ADTS sync word")
    protection_absent = b[1] & 1
    object_type = (b[2] >> 6) + 1
    freq_index = (b[2] >> 2) & 0x0F
    if freq_index >= len(SAMPLE_RATES):
        raise AACError(f"reserved sampling frequency index {freq_index}")
    channels = ((b[2] & 1) << 2) | (b[3] >> 6)
    frame_size = ((b[3] & 3) << 11) | (b[4] << 3) | (b[5] >> 5)
    header_size = 7 if protection_absent else 9
    if frame_size < header_size:
        raise AACError(f"ADTS frame length {frame_size} shorter than its header")
    frames = (b[6] & 3) + 1
    return ADTSHeader(object_type, freq_index, channels, header_size, frame_size, frames)


def split_adts(data: bytes) -> tuple[list[bytes], ADTSHeader | None]:
    """Split a buffer of ADTS frames into raw AAC frames; returns them and the first header.

    Stops at the first byte that is not a complete ADTS frame.
    """
    out: list[bytes] = []
    first: ADTSHeader | None = None
    pos = 0
    n = len(data)
    while pos + 7 <= n:
        try:
            h = parse_adts_header(data, pos)
        except AACError:
            break
        if pos + h.frame_size > n:
            break
        if first is None:
            first = h
        out.append(data[pos + h.header_size : pos + h.frame_size])
        pos += h.frame_size
    return out, first


def adts_header(config: AudioSpecificConfig, payload_size: int) -> bytes:
    """Build a 7-byte ADTS header (no CRC) for a raw frame of ``payload_size`` bytes."""
    size = payload_size + 7
    profile = (config.object_type - 1) & 3
    ch = config.channels & 7
    return bytes(
        (
            0xFF,
            0xF1,
            (profile << 6) | ((config.frequency_index & 0x0F) << 2) | (ch >> 2),
            ((ch & 3) << 6) | ((size >> 11) & 3),
            (size >> 3) & 0xFF,
            ((size & 7) << 5) | 0x1F,
            0xFC,
        )
    )
