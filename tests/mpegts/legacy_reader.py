"""The MPEG-TS demuxer as it was before the batch path (commit e7b31a3): the oracle.

Kept verbatim (but for this docstring, imports and one deliberate change: the keyframe
flag of a video frame is read from its first VCL unit, see ``_first_vcl_key``) as the
reference the reader must equal
event for event and counter for counter: tests/mpegts/test_reader_oracle.py feeds both the
same bytes. The PES header parser, the Annex B splitter and the elementary-stream decoder
of that commit are copied at the end, so later changes to them are checked too.
"""

# ruff: noqa: E402  (the copied modules' imports stay beside their code)

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from struct import Struct
from typing import Any

from headwater.media.frames import Codec, Frame, Track
from headwater.media.mpegts.packet import AF_PCR, HEADER, NULL_PID, PACKET_SIZE, PAT_PID, SYNC_BYTE
from headwater.media.mpegts.pes import PESError, PESHeader, Unwrapper
from headwater.media.mpegts.psi import PSIError, SectionAssembler, parse_pat, parse_pmt
from headwater.media.mpegts.stream_types import SECTION_TYPES, classify

MAX_PES = 8 * 1024 * 1024
"""Largest PES reassembled (an unbounded video PES past this is dropped as damaged)."""

_SYNC = bytes((SYNC_BYTE,))

try:  # numpy where it pays: the bulk path over many packets per feed
    import numpy as _np
except ImportError:  # pragma: no cover - numpy comes with the plugins that feed big buffers
    _np = None

BULK_MIN = 64
"""Whole packets in a feed from which the bulk path pays for its fixed cost (about 20 µs
of numpy calls against some 0.4 µs per packet in the per-packet loop)."""
_PLAIN_MASK = 0xFFE000F0
"""Header bits that make a plain continuation: sync byte, no TEI/PUSI/priority, not
scrambled, payload only (the continuity counter and PID are checked separately)."""
_PLAIN = (SYNC_BYTE << 24) | 0x10
_NOT_CC = 0xFFFFFFF0


_HEADS = [Struct(">" + "I184x" * k) for k in range(BULK_MIN)]
"""``_HEADS[k]`` reads the headers of ``k`` whole packets in one call (the small-feed path)."""
_PAYLOADS = [tuple(slice(o + 4, o + PACKET_SIZE) for o in range(0, k * PACKET_SIZE, PACKET_SIZE))
             for k in range(BULK_MIN)]  # fmt: skip
"""``_PAYLOADS[k]``: the payload slices of the first ``k`` packets of a buffer."""


@dataclass(frozen=True, slots=True)
class TracksChanged:
    """The program's tracks, sent before the first frame and after every change."""

    tracks: tuple[Track, ...]


class _Pid:
    """Reassembly state of one PID."""

    __slots__ = (
        "asm",
        "cc",
        "damaged",
        "next_pts",
        "parts",
        "pid",
        "remaining",
        "sized",
        "started",
        "stream_type",
        "track",
    )

    def __init__(self, pid: int, track: Track | None = None, stream_type: int = -1) -> None:
        self.pid = pid
        self.track = track
        self.stream_type = stream_type
        self.cc = -1
        self.parts: list[memoryview] = []
        self.remaining = 0
        self.started = False
        self.sized = False
        self.damaged = False
        self.next_pts: int | None = None
        self.asm = SectionAssembler() if track is None or stream_type in SECTION_TYPES else None


class TSReader:
    """Demultiplexes one MPEG-TS program (the first in the PAT) into headwater frames.

    Counters: ``packets`` read, ``resyncs`` (sync lost and found), ``cc_errors`` (per PID),
    ``tei_errors``, ``dropped_pes`` (damaged PES not delivered), ``pes_errors`` (malformed
    PES headers), ``psi_errors`` (bad PAT/PMT sections). ``pcr`` is the last PCR (27 MHz,
    unwrapped) of the program's PCR PID, or None.
    """

    def __init__(self, *, bulk: bool | None = None) -> None:
        """``bulk``: use the batched paths — numpy for big feeds (when numpy is there), one
        header read for small feeds of one PID's continuations (default: yes); False keeps
        the per-packet loop (the tests compare the two)."""
        self._bulk = _np is not None if bulk is None else bulk and _np is not None
        self._small = bulk is not False
        self._pending = b""
        self._pids: dict[int, _Pid] = {PAT_PID: _Pid(PAT_PID)}
        self._fast: dict[int, _Pid] = {}
        self._runs: dict[int, tuple[int, ...]] = {}
        self._deferred: list[_Pid] = []
        self._pmt_pid = -1
        self._pat_section = b""
        self._pmt_section = b""
        self._pcr_pid = -1
        self._tracks: dict[int, Track] = {}
        self._unwrap = Unwrapper()
        self._pcr_unwrap = Unwrapper()
        self._now = 0
        self.packets = 0
        self.resyncs = 0
        self.cc_errors: Counter[int] = Counter()
        self.tei_errors = 0
        self.dropped_pes = 0
        self.pes_errors = 0
        self.psi_errors = 0
        self.pcr: int | None = None

    @property
    def tracks(self) -> tuple[Track, ...]:
        """The current tracks, in PMT order."""
        return tuple(self._tracks.values())

    def feed(self, data: bytes | bytearray | memoryview) -> list[TracksChanged | Frame]:
        """Consume ``data`` (any length, packets split anywhere); return the events it completes."""
        buf = self._pending + bytes(data) if self._pending else bytes(data)
        events: list[TracksChanged | Frame] = []
        self._pending = buf[self._run(buf, events, final=False) :]
        return events

    def flush(self) -> list[TracksChanged | Frame]:
        """End of input: deliver every PES still being assembled (if undamaged)."""
        events: list[TracksChanged | Frame] = []
        if self._pending:
            self._run(self._pending, events, final=True)
            self._pending = b""
        for st in self._deferred:
            self._complete(st, events)
        self._deferred.clear()
        for st in list(self._pids.values()):
            if st.asm is None and st.started:
                self._complete(st, events)
        return events

    def _run(self, buf: bytes, events: list, final: bool) -> int:
        """Process whole packets of ``buf``; return the offset of the unconsumed tail."""
        mv = memoryview(buf)
        fast_get = self._fast.get
        unpack = HEADER.unpack_from
        finish = self._finish
        n = len(buf)
        if self._deferred and n:
            for st in self._deferred:
                st.damaged |= buf[0] != SYNC_BYTE
                self._complete(st, events)
            self._deferred.clear()
        end = n - PACKET_SIZE
        off = 0
        count = 0
        last: _Pid | None = None
        bulk = self._bulk
        k = n // PACKET_SIZE
        if 1 < k < BULK_MIN and self._small:
            # the small-feed path: a feed (a datagram, say) of plain continuations of one
            # PID that completes nothing is checked with one header read and one compare
            h = unpack(buf, 0)[0]
            st = fast_get(h)
            if (
                st is not None
                and st.cc == h & 15
                and st.remaining > 184 * k
                and _HEADS[k].unpack_from(buf) == self._runs[h][:k]
            ):
                off = k * PACKET_SIZE
                st.parts += map(mv.__getitem__, _PAYLOADS[k])
                st.cc = (h + k) & 15
                st.remaining -= 184 * k
                last = st
                count = k
        while off <= end:
            if bulk and n - off >= BULK_MIN * PACKET_SIZE:
                bulk = False  # once per call: after a loss of sync the packets go one by one
                off, last, done = self._run_bulk(buf, mv, off, events, last)
                count += done
                continue
            h = unpack(buf, off)[0]
            st = fast_get(h)
            count += 1
            if st is not None and st.cc == h & 15:
                st.parts.append(mv[off + 4 : off + 188])
                st.cc = (h + 1) & 15
                last = st
                off += 188
                st.remaining -= 184
                if st.remaining <= 0:
                    finish(st, events, buf, off)
                continue
            if h >> 24 != SYNC_BYTE:
                count -= 1
                if last is not None:
                    last.damaged = True
                    last = None
                self.resyncs += 1
                found = self._resync(buf, off + 1, final)
                if found < 0:
                    self.packets += count
                    return n if -found - 1 >= n else -found - 1
                off = found
                continue
            last = self._packet(buf, mv, off, h, events)
            off += 188
        self.packets += count
        return off

    def _run_bulk(
        self, buf: bytes, mv: memoryview, off: int, events: list, last: _Pid | None
    ) -> tuple[int, _Pid | None, int]:
        """The bulk path over the whole packets from ``off`` up to the first without a sync
        byte; returns the offset reached, the last packet's PID state and the count."""
        np: Any = _np
        k = (len(buf) - off) // PACKET_SIZE
        # every packet's sync byte as one strided bytes slice: the run ends at the first
        # packet without one (those go through _run's resync)
        sync = buf[off : off + k * PACKET_SIZE : PACKET_SIZE]
        if sync.count(_SYNC) != k:
            k -= len(sync.lstrip(_SYNC))
            if k == 0:
                return off, last, 0
        # every packet's 32-bit header at once: a strided view, no copy of the payloads
        heads = np.ndarray((k,), ">u4", buf, off, (PACKET_SIZE,)).astype(np.uint32)
        payloads = np.ndarray((k, PACKET_SIZE - 4), np.uint8, buf, off + 4, (PACKET_SIZE, 1))
        prev = heads[:-1]
        # packet i follows i-1 when i-1 is plain and i's header is i-1's with the next
        # counter (so i is plain too, on the same PID); runs break where one does not
        breaks = ((prev & _PLAIN_MASK) != _PLAIN) | (
            heads[1:] != ((prev & _NOT_CC) | ((prev + 1) & 15))
        )
        bounds = [0, *(breaks.nonzero()[0] + 1).tolist(), k]
        heads_list = heads.tolist()
        fast_get = self._fast.get
        finish = self._finish
        for r in range(len(bounds) - 1):
            i, j = bounds[r], bounds[r + 1]
            h = heads_list[i]
            st = fast_get(h)
            if st is not None and st.cc == h & 15 and st.remaining > PACKET_SIZE:
                # a run of plain continuations: all but the packet that may end a sized PES
                # go in as one slice (remaining stays positive, so nothing completes)
                m = min(j - i, (st.remaining - 1) // 184)
                if m > 1:
                    st.parts.append(payloads[i : i + m].tobytes())
                    st.cc = (heads_list[i + m - 1] + 1) & 15
                    st.remaining -= 184 * m
                    last = st
                    i += m
            while i < j:  # the per-packet code of _run, for run starts and the rest
                pos = off + i * PACKET_SIZE
                h = heads_list[i]
                st = fast_get(h)
                if st is not None and st.cc == h & 15:
                    st.parts.append(mv[pos + 4 : pos + 188])
                    st.cc = (h + 1) & 15
                    last = st
                    st.remaining -= 184
                    if st.remaining <= 0:
                        finish(st, events, buf, pos + PACKET_SIZE)
                else:
                    last = self._packet(buf, mv, pos, h, events)
                i += 1
        return off + k * PACKET_SIZE, last, k

    def _resync(self, buf: bytes, start: int, final: bool) -> int:
        """Find the next offset with a sync byte 188 and 376 bytes on where the data reaches.

        Returns it, or ``-(k + 1)`` when the data ends first: keep ``buf[k:]`` for later.
        """
        n = len(buf)
        pos = buf.find(_SYNC, start)
        while pos >= 0:
            if pos + 2 * PACKET_SIZE < n:
                if buf[pos + PACKET_SIZE] == SYNC_BYTE and buf[pos + 2 * PACKET_SIZE] == SYNC_BYTE:
                    return pos
            elif pos + PACKET_SIZE < n:
                if buf[pos + PACKET_SIZE] == SYNC_BYTE:
                    return pos if final else -(pos + 1)
            else:
                return pos if final else -(pos + 1)
            pos = buf.find(_SYNC, pos + 1)
        return -(n + 1)

    def _packet(self, buf: bytes, mv: memoryview, off: int, h: int, events: list) -> _Pid | None:
        """The slow path: one packet with a payload start, adaptation field or anomaly."""
        pid = (h >> 8) & 0x1FFF
        st = self._pids.get(pid)
        if st is None or pid == NULL_PID:
            return None
        if h & 0x800000:
            self.tei_errors += 1
            st.damaged = True
            if st.asm is not None:
                st.asm.reset()
            return st
        afc = h & 0x30
        pos = off + 4
        disc = False
        if afc & 0x20:
            aflen = buf[pos]
            if aflen > 183 or (afc == 0x30 and aflen > 182):
                st.damaged = True
                return st
            if aflen:
                flags = buf[pos + 1]
                disc = bool(flags & 0x80)
                if flags & AF_PCR and aflen >= 7 and pid == self._pcr_pid:
                    raw = int.from_bytes(buf[pos + 2 : pos + 8], "big")
                    base = self._pcr_unwrap(raw >> 15)
                    self.pcr = base * 300 + (raw & 0x1FF)
            pos += 1 + aflen
        if not afc & 0x10:
            return st
        cc = h & 15
        if st.cc >= 0 and cc != st.cc and not disc:
            if cc == (st.cc - 1) & 15:
                return st  # a duplicate packet (2.4.3.3) carries nothing new
            self.cc_errors[pid] += 1
            st.damaged = True
            if st.asm is not None:
                st.asm.reset()
        st.cc = (cc + 1) & 15
        payload = mv[pos : off + 188]
        pusi = bool(h & 0x400000)
        if st.asm is not None:
            for section in st.asm.push(payload, pusi):
                self._section(st, section, events)
            return st
        if pusi:
            if st.started:
                self._complete(st, events)
            st.parts = [payload]
            st.started = True
            st.damaged = False
            size = len(payload)
            length = (payload[4] << 8) | payload[5] if size >= 6 else 0
            st.sized = length > 0
            st.remaining = length + 6 - size if length else MAX_PES - size
        else:
            st.parts.append(payload)
            st.remaining -= len(payload)
        if st.remaining <= 0:
            self._finish(st, events, buf, off + PACKET_SIZE)
        return st

    def _finish(self, st: _Pid, events: list, buf: bytes, nxt: int) -> None:
        """A sized PES is complete: deliver it once the next packet proves this one whole.

        A packet cut short swallows the start of the next one, whose sync byte then is not
        where it should be; so completion waits for the byte at ``nxt`` (maybe next feed).
        """
        if nxt < len(buf):
            st.damaged |= buf[nxt] != SYNC_BYTE
            self._complete(st, events)
        else:
            self._deferred.append(st)

    def _complete(self, st: _Pid, events: list) -> None:
        """A PES is whole (or cut short by the next start): decode it into frames."""
        parts = st.parts
        st.parts = []
        if not st.started:
            return
        st.started = False
        if st.damaged or (not st.sized and st.remaining <= 0):
            self.dropped_pes += 1
            return
        data = b"".join(parts)
        try:
            pes = parse_pes_header(data)
        except PESError:
            self.pes_errors += 1
            return
        track = st.track
        if track is None:
            return
        if pes.pts is None:
            if st.next_pts is None:
                self.dropped_pes += 1
                return
            pts = dts = st.next_pts
        else:
            pts = self._unwrap(pes.pts)
            dts = self._unwrap(pes.dts) if pes.dts != pes.pts else pts
        self._now = dts
        frames, new_track, st.next_pts = decode(track, data, pes.start, pes.end, pts, dts)
        if new_track is not None:
            st.track = new_track
            self._tracks[st.pid] = new_track
            events.append(TracksChanged(self.tracks))
        events.extend(frames)

    def _section(self, st: _Pid, section: bytes, events: list) -> None:
        """A complete PSI (or SCTE-35) section arrived on ``st``'s PID."""
        if st.track is not None:  # SCTE-35 / private sections travel as data frames
            events.append(Frame(st.track, self._now, self._now, True, data=section))
            return
        try:
            if st.pid == PAT_PID:
                # a repeat of the last good PAT (most are) changes nothing: no CRC, no parse
                if section != self._pat_section:
                    self._on_pat(parse_pat(section))
                    self._pat_section = section
            elif st.pid == self._pmt_pid and section != self._pmt_section:
                self._on_pmt(parse_pmt(section), events)
                self._pmt_section = section
        except PSIError:
            self.psi_errors += 1

    def _on_pat(self, pat) -> None:
        programs = [pid for number, pid in pat.programs if number != 0]
        if not programs or programs[0] == self._pmt_pid:
            return
        if self._pmt_pid >= 0:
            self._pids.pop(self._pmt_pid, None)
        self._pmt_pid = programs[0]
        self._pmt_section = b""
        self._pids[self._pmt_pid] = _Pid(self._pmt_pid)

    def _on_pmt(self, pmt, events: list) -> None:
        tracks: dict[int, Track] = {}
        keep: dict[int, _Pid] = {}
        for es in pmt.streams:
            if es.pid in (PAT_PID, self._pmt_pid, NULL_PID) or es.pid in keep:
                continue
            old = self._pids.get(es.pid)
            if old is not None and old.track is not None and old.stream_type == es.stream_type:
                keep[es.pid] = old
                tracks[es.pid] = old.track
                continue
            codec, language = classify(es.stream_type, es.descriptors)
            extra = {"pid": es.pid, "stream_type": es.stream_type}
            track = Track(es.pid, codec, language=language, extra=extra)
            if codec is Codec.DATA:
                track.extra["descriptors"] = es.descriptors
            keep[es.pid] = _Pid(es.pid, track, es.stream_type)
            tracks[es.pid] = track
        for pid in [p for p, s in self._pids.items() if s.track is not None and p not in keep]:
            del self._pids[pid]
        self._pids.update(keep)
        self._fast.clear()  # in place: a running _run holds its .get
        self._fast.update(
            ((SYNC_BYTE << 24) | (pid << 8) | 0x10 | cc, st)
            for pid, st in keep.items()
            if st.asm is None
            for cc in range(16)
        )
        # each fast header's run: the headers of the plain continuations that follow it
        self._runs = {
            h: tuple((h & _NOT_CC) | ((h + i) & 15) for i in range(BULK_MIN)) for h in self._fast
        }
        self._pcr_pid = pmt.pcr_pid
        self._tracks = tracks
        events.append(TracksChanged(self.tracks))


# --- headwater.media.mpegts.elementary (e7b31a3), the reading side

from dataclasses import replace

from headwater.media import h264, h265
from headwater.media.aac import SAMPLES_PER_FRAME, AACError, parse_adts_header
from headwater.media.bitreader import BitstreamError
from headwater.media.frames import CLOCK_RATE
from headwater.media.h264_sps import parse_h264_sps
from headwater.media.h265_sps import parse_h265_sps
from headwater.media.mpegts.audio_frames import ac3_frame, mpa_frame, opus_duration, opus_frames

Decoded = tuple[list[Frame], Track | None, int | None]


def decode(track: Track, data: bytes, start: int, end: int, pts: int, dts: int) -> Decoded:
    """Frames of one PES payload ``data[start:end]``; also a replacement track and next pts."""
    codec = track.codec
    if codec is Codec.H264 or codec is Codec.H265:
        return _video(track, data, start, end, pts, dts)
    if codec is Codec.AAC:
        return _aac(track, data, start, end, pts)
    if codec is Codec.MP3 or codec is Codec.MP2:
        return _split(track, data, start, end, pts, mpa_frame)
    if codec is Codec.AC3 or codec is Codec.EAC3:
        return _split(track, data, start, end, pts, ac3_frame)
    if codec is Codec.OPUS:
        return _opus(track, data, start, end, pts)
    return [Frame(track, pts, dts, True, data=data[start:end])], None, None


def _video(track: Track, data: bytes, start: int, end: int, pts: int, dts: int) -> Decoded:
    units = split_annexb(data, start, end)  # the payload split in place, not copied first
    hevc = track.codec is Codec.H265
    if hevc:
        nalus = tuple(n for n in units if (n[0] >> 1) & 0x3F != h265.NAL_AUD)
    else:
        nalus = tuple(n for n in units if n[0] & 0x1F != h264.NAL_AUD)
    key = _first_vcl_key(units, hevc)  # was h265.is_keyframe(nalus) / h264.is_keyframe(nalus)
    new = None
    if key:
        sets = h265.parameter_sets(nalus) if hevc else h264.parameter_sets(nalus)
        flat = tuple(n for group in sets for n in group)
        if sets[-2] and sets[-1] and flat != track.parameter_sets:
            try:
                info = parse_h265_sps(sets[-2][0]) if hevc else parse_h264_sps(sets[-2][0])
                width, height = info.width, info.height
            except BitstreamError:
                width, height = 0, 0
            new = track = replace(
                track, parameter_sets=flat, width=width, height=height, extra=dict(track.extra)
            )
    return [Frame(track, pts, dts, key, nalus=nalus)], new, None


def _first_vcl_key(units: list[bytes], hevc: bool) -> bool:
    """The one rule changed on purpose since e7b31a3 (the seventh sitting, http-ts4): a
    video frame is a keyframe when its first VCL unit is an IDR slice (H.264) or an IRAP
    picture (H.265), where it was when any unit was. The same for every conforming access
    unit (all VCL units of a picture share a type); damaged ones can differ."""
    for n in units:
        if hevc:
            t = (n[0] >> 1) & 0x3F
            if t < 32:
                return 16 <= t <= 21
        else:
            t = n[0] & 0x1F
            if 1 <= t <= 5:
                return t == 5
    return False


def _aac(track: Track, data: bytes, pos: int, end: int, pts: int) -> Decoded:
    frames: list[Frame] = []
    new = None
    i = 0
    rate = track.sample_rate
    while pos + 7 <= end:
        try:
            h = parse_adts_header(data, pos)
        except AACError:
            break
        if pos + h.frame_size > end:
            break
        if i == 0:
            config = h.config().to_bytes()
            if config != track.config:
                new = track = replace(
                    track,
                    config=config,
                    sample_rate=h.sample_rate,
                    channels=h.channels,
                    extra=dict(track.extra),
                )
                rate = h.sample_rate
        t = pts + i * SAMPLES_PER_FRAME * CLOCK_RATE // rate
        frames.append(Frame(track, t, t, True, data=data[pos + h.header_size : pos + h.frame_size]))
        pos += h.frame_size
        i += h.frames
    next_pts = pts + i * SAMPLES_PER_FRAME * CLOCK_RATE // rate if rate else None
    return frames, new, next_pts


def _split(track: Track, data: bytes, pos: int, end: int, pts: int, sizer) -> Decoded:
    frames: list[Frame] = []
    new = None
    t = pts
    while True:
        f = sizer(data, pos)
        if f is None or f.end > end:
            break
        if f.layer == 2 and track.codec is Codec.MP3:
            new = track = replace(track, codec=Codec.MP2, extra=dict(track.extra))
        frames.append(Frame(track, t, t, True, data=data[f.start : f.end]))
        t += f.duration
        pos = f.end
    return frames, new, t


def _opus(track: Track, data: bytes, start: int, end: int, pts: int) -> Decoded:
    frames: list[Frame] = []
    t = pts
    for a, b in opus_frames(data[start:end]):
        packet = data[start + a : start + b]
        frames.append(Frame(track, t, t, True, data=packet))
        t += opus_duration(packet)
    return frames, None, t


# --- headwater.media.mpegts.pes (e7b31a3)

_NO_HEADER = frozenset({0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF})


def _timestamp(data: bytes, pos: int) -> int:
    v = int.from_bytes(data[pos : pos + 5], "big")
    return (((v >> 33) & 7) << 30) | (((v >> 17) & 0x7FFF) << 15) | ((v >> 1) & 0x7FFF)


def parse_pes_header(data: bytes) -> PESHeader:
    """Parse the PES header at the start of ``data`` (a whole PES packet)."""
    n = len(data)
    if n < 6 or data[0] or data[1] or data[2] != 1:
        raise PESError("PES packet does not start with 00 00 01")
    stream_id = data[3]
    length = (data[4] << 8) | data[5]
    end = 6 + length if length else n
    if end > n:
        raise PESError(f"PES packet of {n} bytes is shorter than its length {end}")
    if stream_id in _NO_HEADER:
        return PESHeader(stream_id, None, None, 6, end)
    if n < 9 or data[6] & 0xC0 != 0x80:
        raise PESError("PES optional header missing or without its '10' marker")
    flags = data[7] >> 6
    start = 9 + data[8]
    if start > end:
        raise PESError("PES_header_data_length runs past the packet")
    pts = dts = None
    if flags & 2:
        if start < 14:
            raise PESError("PTS flag set but the PES header is too short")
        pts = _timestamp(data, 9)
        dts = pts
        if flags == 3:
            if start < 19:
                raise PESError("DTS flag set but the PES header is too short")
            dts = _timestamp(data, 14)
    return PESHeader(stream_id, pts, dts, start, end)


# --- headwater.media.annexb (e7b31a3)


def split_annexb(data: bytes, start: int = 0, end: int | None = None) -> list[bytes]:
    """Split an Annex B buffer into NAL units (start codes and trailing zeros removed).

    Leading bytes before the first start code are ignored; both 3- and 4-byte start codes
    are accepted. Work is done with ``bytes.find``, never per byte in Python. ``start`` and
    ``end`` split ``data[start:end]`` without copying it first (a PES payload in its PES).
    """
    nalus: list[bytes] = []
    find = data.find
    n = len(data) if end is None else min(max(end, 0), len(data))
    lo = min(max(start, 0), n)
    pos = find(b"\x00\x00\x01", lo, n)
    if pos < 0:
        return [data[lo:n]] if n > lo else []
    start = pos + 3
    while True:
        nxt = find(b"\x00\x00\x01", start, n)
        if nxt < 0:
            end = n
            while end > start and data[end - 1] == 0:
                end -= 1
            if end > start:
                nalus.append(data[start:end])
            return nalus
        end = nxt
        while end > start and data[end - 1] == 0:
            end -= 1
        if end > start:
            nalus.append(data[start:end])
        start = nxt + 3
