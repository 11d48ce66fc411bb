"""The MPEG-TS demuxer (ISO/IEC 13818-1 2.4): bytes in any chunking → tracks and frames.

Sans-I/O: :meth:`TSReader.feed` takes whatever bytes arrived and returns events in stream
order — :class:`TracksChanged` when the program's tracks (or a track's codec
configuration) change, then :class:`~headwater.media.frames.Frame` objects. ``flush()`` at
the end of input delivers the last PES of each PID.

Speed comes from the common case: a continuation packet of a known PID with the expected
continuity counter, no adaptation field and no payload start. Its 32-bit header is one
of sixteen precomputed keys per PID, so the hot loop is a ``struct`` read, one dict lookup
and a list append of a memoryview slice; payloads are joined once per PES. Everything else
(PSI, adaptation fields, payload starts, errors) takes the slow path, packet by packet.

With numpy installed, a feed of many packets takes the bulk path first: the header bytes
of every whole packet are read at once (three strided slices compared as big integers,
see :mod:`~headwater.media.mpegts.packet_runs`), the packets are cut into runs (same
PID, plain continuation header, continuity counters in sequence), their lengths read
from one ``split`` of a byte per packet, so no Python runs per packet; every payload of the
feed is copied out at once (one ``tobytes`` of a strided view) and a run of a known PID
goes into its PES as one ``memoryview`` slice of that copy, not packet by packet. Run
starts and every packet that is not a plain continuation go through the same per-packet
code as above, so the events are exactly those of the per-packet loop (the tests feed
both).

Video PES (H.264, H.265) become frames that keep the PES: the keyframe flag comes from
the first VCL unit, a frame that is not a keyframe is not scanned for its NAL units until
a consumer asks for them (:meth:`~headwater.media.frames.Frame.from_access_unit`), a
keyframe's units are found at once (its parameter sets go into the track) but cut only
when asked; a video frame's size is its access unit as carried, start codes included.
The usual PES header is read with one ``struct`` call; the usual access unit (a start
code, the AUD ffmpeg and x264 write, a start code) has its keyframe flag read in place. A
PAT or PMT packet equal to the last one of its PID that changed nothing is skipped, before
any other check when it comes with clean flags and the expected counter.
A small feed (2 to 63 packets: an SRT or UDP datagram) that is all plain continuations
of one PID completing nothing — most datagrams of a video stream — has its headers read
with one ``struct`` call, compared with that PID's expected run as one tuple, and its
payload slices taken with one ``map``; any other small feed goes packet by packet.

Damage policy: a PES that lost a packet (continuity gap, transport error, lost sync) is
dropped whole and counted, never delivered with a hole; the next payload start begins
clean. When sync is lost, the packet before the loss is treated as damaged too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from struct import Struct

from headwater.media.frames import Codec, Frame, Track
from headwater.media.mpegts import elementary
from headwater.media.mpegts.packet import AF_PCR, HEADER, NULL_PID, PACKET_SIZE, PAT_PID, SYNC_BYTE
from headwater.media.mpegts.packet_runs import RunHeaders, run_marks
from headwater.media.mpegts.pes import NO_HEADER_IDS, PESError, Unwrapper, parse_pes_header
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


_PSI_START = (SYNC_BYTE << 24) | 0x400010
"""A payload start, clean flags, payload only (masked with ``_PLAIN_MASK``): how every PAT
and PMT packet of a clean stream begins."""

_EDGES = (0x400010, 0x400030, 0x30)
"""Header flags of the PES packets :meth:`TSReader._packet` takes the short way: a payload
start without and with an adaptation field, a continuation with one."""

_PES_HEAD = Struct(">IHBBBBHHBHH").unpack_from
"""The first 19 bytes of a PES: prefix and stream id, length, the two flag bytes, the
header's length, a PTS and a DTS field (each as 3, 15 and 15 bits between markers)."""

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
        "repeat",
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
        self.repeat: bytes | None = None
        """A PSI payload that, read again, changes nothing (see :meth:`TSReader._psi`)."""
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
        self._edges: dict[int, _Pid] = {}
        """Headers of a PES PID's packets that start a PES or carry an adaptation field,
        flags otherwise clean, with each counter (see :meth:`_packet`)."""
        self._runs = RunHeaders(BULK_MIN)
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
        """Consume ``data`` (any length, packets split anywhere); return the events it completes.

        The packet cut by the last feed is completed with the first bytes of ``data`` and
        read on its own when both it and the packet after it start with a sync byte, so a
        big feed is read in place rather than copied behind the few bytes held over.
        """
        data = bytes(data)
        events: list[TracksChanged | Frame] = []
        pending = self._pending
        start = 0
        if pending:
            need = PACKET_SIZE - len(pending)
            if 0 < need < len(data) and pending[0] == SYNC_BYTE and data[need] == SYNC_BYTE:
                self._one(pending + data[:need], events)
                start = need
            else:
                data = pending + data
        self._pending = data[self._run(data, events, final=False, start=start) :]
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

    def _one(self, packet: bytes, events: list) -> None:
        """:meth:`_run` for one whole packet that starts with a sync byte (the packet a
        feed completes), without its set-up for many."""
        if self._deferred:
            for st in self._deferred:
                self._complete(st, events)
            self._deferred.clear()
        self.packets += 1
        h = HEADER.unpack_from(packet)[0]
        st = self._fast.get(h)
        if st is not None and st.cc == h & 15:
            st.parts.append(memoryview(packet)[4:])
            st.cc = (h + 1) & 15
            st.remaining -= 184
            if st.remaining <= 0:
                self._deferred.append(st)  # whole once the next packet's sync byte is seen
            return
        self._packet(packet, memoryview(packet), 0, h, events)

    def _run(self, buf: bytes, events: list, final: bool, start: int = 0) -> int:
        """Process whole packets of ``buf`` from ``start``; return the offset of the
        unconsumed tail."""
        mv = memoryview(buf)
        fast_get = self._fast.get
        unpack = HEADER.unpack_from
        finish = self._finish
        n = len(buf)
        if self._deferred and n > start:
            for st in self._deferred:
                st.damaged |= buf[start] != SYNC_BYTE
                self._complete(st, events)
            self._deferred.clear()
        end = n - PACKET_SIZE
        off = start
        count = 0
        last: _Pid | None = None
        bulk = self._bulk
        k = (n - start) // PACKET_SIZE
        if 1 < k < BULK_MIN and self._small:
            # the small-feed path: a feed (a datagram, say) of plain continuations of one
            # PID that completes nothing is checked with one header read and one compare
            h = unpack(buf, start)[0]
            st = fast_get(h)
            if (
                st is not None
                and st.cc == h & 15
                and st.remaining > 184 * k
                and _HEADS[k].unpack_from(buf, start) == self._runs[h][:k]
            ):
                off = start + k * PACKET_SIZE
                st.parts += map((mv[start:] if start else mv).__getitem__, _PAYLOADS[k])
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
        k = (len(buf) - off) // PACKET_SIZE
        # every packet's sync byte as one strided bytes slice: the run ends at the first
        # packet without one (those go through _run's resync)
        end = off + k * PACKET_SIZE
        sync = buf[off:end:PACKET_SIZE]
        if sync.count(_SYNC) != k:
            k -= len(sync.lstrip(_SYNC))
            if k == 0:
                return off, last, 0
            end = off + k * PACKET_SIZE
        # each run's length less one: the zeros after each 1 of the marks (one C call)
        runs = map(len, run_marks(buf, off, end, k).split(b"\x01"))
        next(runs)  # the nothing before packet 0's 1
        # every payload of the feed copied out in one call (a numpy call per run cost more
        # than the copy); a run is then a view of it, copied once more when its PES is joined
        payloads = memoryview(
            _np.ndarray((k, PACKET_SIZE - 4), _np.uint8, buf, off + 4, (PACKET_SIZE, 1)).tobytes()
        )
        unpack = HEADER.unpack_from
        fast_get = self._fast.get
        finish = self._finish
        i = 0
        for more in runs:
            pos = off + i * PACKET_SIZE
            h = unpack(buf, pos)[0]
            if not more:  # a lone packet (most breaks: a PES's first and last, PSI)
                last = self._packet(buf, mv, pos, h, events)
                i += 1
                continue
            j = i + 1 + more
            st = fast_get(h)
            if st is not None and st.cc == h & 15 and st.remaining > PACKET_SIZE:
                # a run of plain continuations: all but the packet that may end a sized PES
                # go in as one slice (remaining stays positive, so nothing completes)
                m = min(j - i, (st.remaining - 1) // 184)
                if m > 1:
                    st.parts.append(payloads[i * 184 : (i + m) * 184])
                    st.cc = (h + m) & 15
                    st.remaining -= 184 * m
                    last = st
                    i += m
            while i < j:  # the per-packet code of _run, for run starts and the rest
                pos = off + i * PACKET_SIZE
                h = unpack(buf, pos)[0]
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
        """The slow path: one packet with a payload start, adaptation field or anomaly.

        A PES packet that starts its PES or carries an adaptation field (the stuffed last
        packet of a PES, a PCR), with clean flags and the expected counter, is one of
        ``_edges``' headers and goes the short way: no error to look for but the
        adaptation field's length, which sends a bad one the long way.
        """
        st = self._edges.get(h)
        if st is not None and st.cc == h & 15:
            pos = off + 4
            if h & 0x20:
                aflen = buf[pos]
                if aflen > 182:
                    return self._packet_checked(buf, mv, off, h, events)
                if aflen >= 7 and buf[pos + 1] & AF_PCR and st.pid == self._pcr_pid:
                    raw = int.from_bytes(buf[pos + 2 : pos + 8], "big")
                    self.pcr = self._pcr_unwrap(raw >> 15) * 300 + (raw & 0x1FF)
                pos += 1 + aflen
            st.cc = (h + 1) & 15
            if h & 0x400000:
                self._begin(st, mv[pos : off + PACKET_SIZE], events)
            else:
                st.parts.append(mv[pos : off + PACKET_SIZE])
                st.remaining -= off + PACKET_SIZE - pos
            if st.remaining <= 0:
                self._finish(st, events, buf, off + PACKET_SIZE)
            return st
        if h & _PLAIN_MASK == _PSI_START:
            # a PAT or PMT repeated (ffmpeg: ten times a second) with the expected counter
            # changes nothing, as _psi would find: skipped here without the long way
            st = self._pids.get((h >> 8) & 0x1FFF)
            if (
                st is not None
                and st.repeat is not None
                and st.cc == h & 15
                and st.track is None
                and st.asm.idle  # type: ignore[union-attr]
                and buf[off + 4 : off + PACKET_SIZE] == st.repeat
            ):
                st.cc = (h + 1) & 15
                return st
        return self._packet_checked(buf, mv, off, h, events)

    def _packet_checked(
        self, buf: bytes, mv: memoryview, off: int, h: int, events: list
    ) -> _Pid | None:
        """:meth:`_packet` for any packet, every field checked."""
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
        asm = st.asm
        if asm is not None:
            if pusi and st.track is None and asm.idle:
                self._psi(st, asm, bytes(payload), events)
                return st
            for section in asm.push(payload, pusi):
                self._section(st, section, events)
            return st
        if pusi:
            self._begin(st, payload, events)
        else:
            st.parts.append(payload)
            st.remaining -= len(payload)
        if st.remaining <= 0:
            self._finish(st, events, buf, off + PACKET_SIZE)
        return st

    def _begin(self, st: _Pid, payload: memoryview, events: list) -> None:
        """A payload start on a PES PID: the PES before it ends, this one begins."""
        if st.started:
            self._complete(st, events)
        st.parts = [payload]
        st.started = True
        st.damaged = False
        size = len(payload)
        length = (payload[4] << 8) | payload[5] if size >= 6 else 0
        st.sized = length > 0
        st.remaining = length + 6 - size if length else MAX_PES - size

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
        n = len(data)
        # the usual header (a prefix, the optional header, a PTS or a PTS and a DTS) read
        # here with one struct call; anything else goes through parse_pes_header, which
        # says what is wrong, to the same effect
        if n >= 19:
            word, length, marks, flags, size, p0, p1, p2, d0, d1, d2 = _PES_HEAD(data)
            flags >>= 6
            end = 6 + length if length else n
            start = 9 + size
        else:
            word = flags = 0
        if (
            word >> 8 == 1
            and flags >= 2
            and marks & 0xC0 == 0x80
            and start <= end <= n
            and start >= (14 if flags == 2 else 19)
            and word & 0xFF not in NO_HEADER_IDS
        ):
            pts = ((p0 & 0x0E) << 29) | ((p1 >> 1) << 15) | (p2 >> 1)
            dts = ((d0 & 0x0E) << 29) | ((d1 >> 1) << 15) | (d2 >> 1) if flags == 3 else pts
        else:
            try:
                pes = parse_pes_header(data)
            except PESError:
                self.pes_errors += 1
                return
            pts, dts, start, end = pes.pts, pes.dts, pes.start, pes.end
        track = st.track
        if track is None:
            return
        if pts is None:
            if st.next_pts is None:
                self.dropped_pes += 1
                return
            pts = dts = st.next_pts
        else:
            unwrap = self._unwrap
            pts, dts = (unwrap(pts), unwrap(dts)) if dts != pts else (unwrap(pts),) * 2
        self._now = dts
        frames, new_track, st.next_pts = elementary.decode(track, data, start, end, pts, dts)
        if new_track is not None:
            st.track = new_track
            self._tracks[st.pid] = new_track
            events.append(TracksChanged(self.tracks))
        events.extend(frames)

    def _psi(self, st: _Pid, asm: SectionAssembler, payload: bytes, events: list) -> None:
        """A PAT or PMT packet that starts sections, its PID's assembler holding nothing.

        What such a packet yields depends on its payload alone; a payload equal to the
        last one of its PID that changed nothing (the same PAT or PMT again: ffmpeg repeats
        both ten times a second) changes nothing again, and is skipped whole.
        """
        if payload == st.repeat:
            return
        count, errors = len(events), self.psi_errors
        pat, pmt = self._pat_section, self._pmt_section
        for section in asm.push(payload, True):
            self._section(st, section, events)
        same = pat is self._pat_section and pmt is self._pmt_section
        quiet = same and len(events) == count and errors == self.psi_errors and asm.idle
        st.repeat = payload if quiet else None

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
        self._edges.clear()
        self._edges.update(
            ((SYNC_BYTE << 24) | (pid << 8) | kind | cc, st)
            for pid, st in keep.items()
            if st.asm is None
            for kind in _EDGES
            for cc in range(16)
        )
        # each fast header's run: the headers of the plain continuations that follow it
        self._runs = RunHeaders(BULK_MIN)
        self._pcr_pid = pmt.pcr_pid
        self._tracks = tracks
        events.append(TracksChanged(self.tracks))
