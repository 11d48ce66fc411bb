"""Audio frame boundaries inside a PES: MPEG audio, AC-3/E-AC-3, and Opus-in-TS framing.

A TS audio PES usually carries several codec frames back to back; headwater's model wants
one frame per :class:`~headwater.media.frames.Frame`, each with its own timestamp. These
sizers read just enough of each frame header to know its length and sample count:

- MPEG-1/2 audio layers I-III: ISO/IEC 11172-3 2.4.2.3, ISO/IEC 13818-3 2.4.2.3.
- AC-3: ATSC A/52 5.4.1 (syncinfo, Table 5.18 frame sizes); E-AC-3: A/52 E.1.2 (bsi).
- Opus: ETSI TS 102 366 style ``opus_control_header`` (prefix 0x7FE0, au_size in 0xFF
  runs, optional trim fields) as written by ffmpeg and VLC; RFC 6716 3.1 TOC byte for the
  packet duration.
"""

from __future__ import annotations

from typing import NamedTuple

from headwater.media.frames import CLOCK_RATE


class AudioFrame(NamedTuple):
    """Where one frame lies and how long it plays (``duration`` in 90 kHz ticks)."""

    start: int
    end: int
    duration: int
    layer: int = 0


_MPA_BITRATES = {
    # (mpeg1?, layer) -> kbit/s by bitrate_index 1..14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPA_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mpa_frame(data: bytes, pos: int) -> AudioFrame | None:
    """The MPEG audio frame at ``pos``, or None when no valid header is there."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    b1, b2 = data[pos + 1], data[pos + 2]
    version = (b1 >> 3) & 3
    layer = 4 - ((b1 >> 1) & 3)
    br_index = b2 >> 4
    sr_index = (b2 >> 2) & 3
    if version == 1 or layer == 4 or br_index in (0, 15) or sr_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _MPA_BITRATES[(mpeg1, layer)][br_index - 1] * 1000
    rate = _MPA_RATES[version][sr_index]
    pad = (b2 >> 1) & 1
    if layer == 1:
        size, samples = (12 * bitrate // rate + pad) * 4, 384
    elif layer == 3 and not mpeg1:
        size, samples = 72 * bitrate // rate + pad, 576
    else:
        size, samples = 144 * bitrate // rate + pad, 1152
    return AudioFrame(pos, pos + size, samples * CLOCK_RATE // rate, layer)


_AC3_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640)
_AC3_RATES = (48000, 44100, 32000)
_EAC3_BLOCKS = (1, 2, 3, 6)


def ac3_frame(data: bytes, pos: int) -> AudioFrame | None:
    """The AC-3 or E-AC-3 sync frame at ``pos``, or None when there is none."""
    if pos + 6 > len(data) or data[pos] != 0x0B or data[pos + 1] != 0x77:
        return None
    bsid = data[pos + 5] >> 3
    if bsid <= 10:
        fscod = data[pos + 4] >> 6
        code = data[pos + 4] & 0x3F
        if fscod == 3 or code >= 38:
            return None
        rate = _AC3_RATES[fscod]
        kbps = _AC3_KBPS[code >> 1]
        words = 96000 * kbps // rate + ((code & 1) if fscod == 1 else 0)
        return AudioFrame(pos, pos + 2 * words, 1536 * CLOCK_RATE // rate)
    if 11 <= bsid <= 16:
        words = (((data[pos + 2] & 7) << 8) | data[pos + 3]) + 1
        fscod = data[pos + 4] >> 6
        if fscod == 3:
            fscod2 = (data[pos + 4] >> 4) & 3
            if fscod2 == 3:
                return None
            rate, blocks = _AC3_RATES[fscod2] // 2, 6
        else:
            rate, blocks = _AC3_RATES[fscod], _EAC3_BLOCKS[(data[pos + 4] >> 4) & 3]
        return AudioFrame(pos, pos + 2 * words, blocks * 256 * CLOCK_RATE // rate)
    return None


_OPUS_FRAME_US = (10000, 20000, 40000, 60000)  # SILK / hybrid / CELT frame sizes by config


def opus_duration(packet: bytes | memoryview) -> int:
    """Duration of an Opus packet in 90 kHz ticks from its TOC byte (RFC 6716 3.1)."""
    if not packet:
        return 0
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        us = _OPUS_FRAME_US[config & 3]
    elif config < 16:
        us = 10000 if config & 1 == 0 else 20000
    else:
        us = (2500, 5000, 10000, 20000)[config & 3]
    code = toc & 3
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = packet[1] & 0x3F if len(packet) > 1 else 0
    return us * frames * 9 // 100


def opus_frames(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each Opus packet in a PES payload of control-header-framed packets.

    Stops at the first byte that is not a control header or at a packet running past the end.
    """
    out: list[tuple[int, int]] = []
    pos = 0
    n = len(data)
    while pos + 2 < n:
        if data[pos] != 0x7F or data[pos + 1] & 0xE0 != 0xE0:
            break
        flags = data[pos + 1]
        pos += 2
        size = 0
        while pos < n:
            b = data[pos]
            pos += 1
            size += b
            if b != 0xFF:
                break
        if flags & 0x10:
            pos += 2  # start trim
        if flags & 0x08:
            pos += 2  # end trim
        if flags & 0x04 and pos < n:
            pos += 1 + data[pos]  # control extension
        if pos + size > n:
            break
        out.append((pos, pos + size))
        pos += size
    return out


def opus_control_header(size: int) -> bytes:
    """The opus_control_header for a packet of ``size`` bytes (no trims, no extension)."""
    return b"\x7f\xe0" + b"\xff" * (size // 255) + bytes((size % 255,))
