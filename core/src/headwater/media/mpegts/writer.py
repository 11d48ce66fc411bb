"""The MPEG-TS muxer (ISO/IEC 13818-1 2.4): headwater frames → 188-byte-aligned TS.

:meth:`TSWriter.write` turns one frame into whole packets: PAT and PMT first and then
again every ``psi_interval`` (100 ms) and before every video keyframe, so a player that
joins anywhere (HLS segment, UDP multicast) starts at once; a PES with PTS (and DTS when
it differs); a PCR in the adaptation field of each PES start on the PCR PID (the first
video track, else the first track); the random_access_indicator on keyframes; adaptation
field stuffing in the last packet of a PES (2.4.3.5); continuity counters per PID.

Speed: a frame costs a fixed handful of Python operations, not a few per packet. Headers
are precomputed per PID and counter; a PES of a few packets (audio, small video frames) is
cut with memoryview slices joined once, and the continuation packets of a longer one
(:data:`BULK_PACKETS` or more, a keyframe is a hundred) are laid out by
:mod:`~headwater.media.mpegts.packet_block` in a few numpy operations. The bytes are the
same either way (``tests/mpegts/test_writer_bulk.py`` proves it against the per-packet
writer this replaced).

Batches: :meth:`TSWriter.write_many` (and :meth:`TSWriter.write_batch`, which the segmenter
uses) muxes many frames in one call, for consumers that gather frames (the DVR recorder
and live HLS take what queued in 0.1 s). Per frame it only works out the PES header,
adaptation field and packet count, and queues two things: the 4-byte headers of its
packets (a run of continuation headers is one slice of a per-PID table of counters) and
the 184 bytes after each header (adaptation field, PES bytes, the last packet's stuffing
put before its last bytes). :func:`~headwater.media.mpegts.packet_block.interleave` then
lays out every packet of the batch with two numpy copies, whatever the number of frames,
packets and PIDs. The bytes equal :meth:`TSWriter.write` frame by frame (the same tests
feed both); fewer than :data:`BATCH_FRAMES` frames, or no numpy, go frame by frame.

Audio PES of several frames (``audio_pes_bytes``, off by default): in a batch, AAC frames
of one track that follow each other on the audio time line may share one PES, as ffmpeg's
muxer writes them; :mod:`~headwater.media.mpegts.audio_groups` plans which (never on the
PCR PID: its PCR would come less often than every 100 ms). A frame then costs a few list
appends instead of its own PES header, adaptation field and packets, and the stream
carries fewer, fuller packets.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from headwater.media.aac import adts_header
from headwater.media.frames import Codec, Frame, MediaKind, Track
from headwater.media.mpegts import elementary, packet_block
from headwater.media.mpegts.audio_groups import (
    MEMBER,
    plan_audio_groups,
)
from headwater.media.mpegts.packet import (
    AF_PCR,
    AF_RANDOM_ACCESS,
    PAT_PID,
    PCR_WRAP,
    encode_pcr,
    header,
)
from headwater.media.mpegts.pes import STREAM_ID_VIDEO, build_pes_header
from headwater.media.mpegts.psi import PMT, ElementaryStream, build_pat, build_pmt, section_packets
from headwater.media.mpegts.stream_types import stream_type_for

PMT_PID = 0x1000
FIRST_ES_PID = 0x100

BATCH_FRAMES = 4
"""Frames from which :meth:`TSWriter.write_batch` lays the packets out with numpy (fewer
are written one by one: numpy's fixed cost of some 20 µs a batch would dominate)."""

BULK_PACKETS = 16
"""Continuation packets in a PES from which numpy lays them out (below, a Python loop of
slices is faster: numpy's fixed cost is a few microseconds a call)."""


class _Out:
    """Per-track output state: PID, PES stream_id, counters and precomputed headers."""

    __slots__ = ("aac", "adts", "block", "cc", "cont", "es", "first", "first_af", "last", "nal",
                 "pid", "runs", "stream_id", "track", "video")  # fmt: skip

    def __init__(self, track: Track, pid: int) -> None:
        self.pid = pid
        self.cc = 0
        self.cont = tuple(header(pid, cc) for cc in range(16))
        """Header of a continuation packet (payload only) by continuity counter."""
        self.first = tuple(header(pid, cc, pusi=True) for cc in range(16))
        self.first_af = tuple(header(pid, cc, pusi=True, adaptation=True) for cc in range(16))
        self.last = tuple(header(pid, cc, adaptation=True) for cc in range(16))
        self.block = packet_block.PacketBlock(pid) if packet_block.AVAILABLE else None
        self.runs = b"".join(self.cont) * 16
        """Continuation headers with counters 0, 1, ... 15, 0, ...: the headers of a run of
        continuation packets are a slice of it (:meth:`grow` makes it longer)."""
        self.track = track
        self.es = ElementaryStream(0, pid)
        self.stream_id = 0
        self.aac = None
        self.adts: dict[int, bytes] = {}
        """ADTS headers by raw frame size (they differ in nothing else)."""
        self.nal: bool | None = None
        """H.265 (True), H.264 (False), or another codec (None)."""
        self.video = False
        self.retrack(track)

    def grow(self, end: int) -> bytes:
        """Make :attr:`runs` at least ``end`` bytes long (a longer PES than any before)."""
        self.runs = b"".join(self.cont) * (end // 64 + 2)
        return self.runs

    def retrack(self, track: Track) -> bool:
        """Adopt a (possibly new) Track object; True when the PMT entry changes."""
        self.track = track
        extra_type = track.extra.get("stream_type") if track.codec is Codec.DATA else None
        st, desc, sid = stream_type_for(track.codec, track.channels, extra_type)
        if track.codec is Codec.DATA:
            desc = bytes(track.extra.get("descriptors", desc))
        self.stream_id = sid
        self.aac = elementary.aac_config_of(track) if track.codec is Codec.AAC else None
        self.adts = {}
        codec = track.codec
        self.nal = (codec is Codec.H265) if codec is Codec.H264 or codec is Codec.H265 else None
        self.video = track.kind is MediaKind.VIDEO
        es = ElementaryStream(st, self.pid, desc)
        changed = es != self.es
        self.es = es
        return changed


class TSWriter:
    """Multiplexes the frames of one publication into a single-program transport stream.

    ``tracks`` are those known at the start; a frame of an unknown track id adds it (and
    bumps the PMT version), a new Track object with the same id updates codec config.
    Track ids in 32..0x0FFE are kept as PIDs (so a TS → TS copy keeps its PIDs); other ids
    get PIDs from 0x100 up. ``pcr_delay`` (90 kHz ticks) puts the PCR that far before the
    DTS of the frame it precedes. ``audio_pes_bytes`` (0: one frame per PES) lets
    :meth:`write_batch` carry AAC frames that follow each other in one PES of up to that
    many payload bytes (see the module docstring; :data:`AUDIO_PES_BYTES` is ffmpeg's).
    """

    def __init__(
        self,
        tracks: Iterable[Track] = (),
        *,
        psi_interval: int = 9000,
        pcr_delay: int = 0,
        program_number: int = 1,
        audio_pes_bytes: int = 0,
    ) -> None:
        self._out: dict[int, _Out] = {}
        self._audio_pes_bytes = audio_pes_bytes
        self._program = program_number
        self._psi_interval = psi_interval
        self._pcr_delay = pcr_delay
        self._pmt_version = 0
        self._pat_cc = 0
        self._pmt_cc = 0
        self._last_psi: int | None = None
        self._psi_due = True
        self._pcr_pid = -1
        self._psi_packets: dict[tuple[int, int], tuple[bytes, int, int]] = {}
        """PAT + PMT packets by (PAT, PMT) counters, for the current tables."""
        for track in tracks:
            self._add(track)

    def _add(self, track: Track) -> _Out:
        used = {o.pid for o in self._out.values()}
        pid = track.id if 32 <= track.id < PMT_PID and track.id not in used else FIRST_ES_PID
        while pid in used:
            pid += 1
        out = self._out[track.id] = _Out(track, pid)
        self._pick_pcr()
        self._psi_due = True
        self._psi_packets = {}
        return out

    def _out_for(self, track: Track, out: _Out | None) -> _Out:
        """The output of a track seen for the first time, or of a track object that
        replaced the one its output was made for (a new PMT version when what the PMT
        says of it changed). Off the per-frame path: called only when the track is new."""
        if out is None:
            return self._add(track)
        if out.retrack(track):
            self._pmt_version = (self._pmt_version + 1) & 0x1F
            self._pick_pcr()
            self._psi_due = True
            self._psi_packets = {}
        return out

    def _pick_pcr(self) -> None:
        outs = list(self._out.values())
        video = [o for o in outs if o.track.kind is MediaKind.VIDEO]
        chosen = (video or [o for o in outs if o.stream_id] or outs)[0]
        self._pcr_pid = chosen.pid

    @property
    def pids(self) -> dict[int, int]:
        """Track id → PID."""
        return {tid: o.pid for tid, o in self._out.items()}

    def psi(self) -> bytes:
        """PAT and PMT packets for the current tracks (also written automatically)."""
        self._psi_due = False
        key = (self._pat_cc, self._pmt_cc)
        cached = self._psi_packets.get(key)
        if cached is None:
            outs = tuple(o.es for o in self._out.values())
            pmt = PMT(self._program, self._pmt_version, self._pcr_pid, outs)
            cached = self._psi_packets[key] = _tables(pmt, *key)
        packets, self._pat_cc, self._pmt_cc = cached
        return packets

    def write(self, frame: Frame) -> bytes:
        """Packets for one frame (PSI first when due); a multiple of 188 bytes."""
        track = frame.track
        out = self._out.get(track.id)
        if out is None or out.track is not track:
            out = self._out_for(track, out)
        dts = frame.dts
        key = frame.keyframe
        last = self._last_psi
        pcr_pid = out.pid == self._pcr_pid
        if (
            self._psi_due
            or last is None
            or (key and out.video)
            or (pcr_pid and dts - last >= self._psi_interval)
        ):
            self._last_psi = dts
            psi = self.psi()
        else:
            psi = b""
        sid = out.stream_id
        if sid == 0:  # sections (SCTE-35) go out as they are
            data, out.cc = section_packets(out.pid, bytes(frame.data), out.cc)
            return psi + data
        nal = out.nal
        if nal is not None:  # H.264/H.265: PES_packet_length 0 (2.4.3.7), payload in parts
            parts = elementary.video_parts(frame, nal)
            sized = sid != STREAM_ID_VIDEO
            size = sum(map(len, parts)) if sized else 0
            parts[0] = build_pes_header(sid, frame.pts, dts, size, sized=sized)
            pes = b"".join(parts)
        elif out.aac is not None:
            data = frame.data
            size = len(data)
            adts = out.adts.get(size)
            if adts is None:
                adts = out.adts[size] = adts_header(out.aac, size)
            pes = b"".join(
                (build_pes_header(sid, frame.pts, dts, size + 7, sized=True), adts, data)
            )
        else:
            es = elementary.encode(frame, out.aac)
            video = sid == STREAM_ID_VIDEO
            pes = build_pes_header(sid, frame.pts, dts, len(es), sized=not video) + es
        if pcr_pid:
            pcr = encode_pcr((dts - self._pcr_delay) * 300)
            af = (_AF_PCR_RANDOM_ACCESS if key else _AF_PCR) + pcr
        else:
            af = _AF_RANDOM_ACCESS if key else b""
        packets = self._packetize(out, pes, af)
        return psi + packets if psi else packets

    def write_many(self, frames: Sequence[Frame]) -> bytes | memoryview:
        """Packets for many frames at once: exactly ``b"".join(map(self.write, frames))``.

        The per-packet work of the whole batch is done in a few numpy operations (see the
        module docstring), so a frame costs only its headers' Python; the result is any
        bytes-like object (a memoryview over the packets).
        """
        return self.write_batch(frames)[0]

    def write_batch(
        self,
        frames: Sequence[Frame],
        psi_before: Collection[int] = (),
        arena: packet_block.PacketArena | None = None,
    ) -> tuple[bytes | memoryview, list[int], list[int]]:
        """:meth:`write_many` for the segmenter: also where each frame's bytes are.

        ``psi_before`` holds indexes of frames that must start with PAT and PMT: when the
        writer does not write them there itself, :meth:`psi` is put before the frame (a
        segment's first frame). Returns the bytes and, per frame, the offset where its
        bytes begin (before such a PSI) and where its own :meth:`write` output begins.
        With ``arena`` the packets are laid out in its memory (see
        :class:`~headwater.media.mpegts.packet_block.PacketArena`).
        """
        if len(frames) < BATCH_FRAMES or not packet_block.AVAILABLE:
            return self._write_each(frames, psi_before)
        outs = self._out
        heads: list[bytes] = []
        """The 4-byte header of every packet, in order (runs of them as one slice)."""
        body: list[bytes | memoryview] = []
        """The 184 bytes after each header (adaptation field, payload), in order."""
        begins: list[int] = []
        starts: list[int] = []
        rows = 0
        interval = self._psi_interval
        pcr_delay = self._pcr_delay
        # module globals as locals: looked up for every frame
        add_head, add_body, add_begin, add_start = (
            heads.append,
            body.append,
            begins.append,
            starts.append,
        )
        video_parts = elementary.video_parts
        plan = self._audio_groups(frames, psi_before) if self._audio_pes_bytes else _NO_GROUPS
        # the PSI state as locals (written back at the end): looked at for every frame
        due = self._psi_due
        last = self._last_psi
        pcr_pid = self._pcr_pid
        for i, (frame, group) in enumerate(zip(frames, plan, strict=False)):  # plan may be endless
            if group is MEMBER and not due:
                add_begin(rows * 188)  # its bytes went out with the group's first frame
                add_start(rows * 188)
                continue
            track = frame.track
            out = outs.get(track.id)
            if out is None or out.track is not track:
                out = self._out_for(track, out)
                due = self._psi_due
                pcr_pid = self._pcr_pid
            add_begin(rows * 188)
            dts = frame.dts
            key = frame.keyframe
            on_pcr = out.pid == pcr_pid
            if due or last is None or (key and out.video) or (on_pcr and dts - last >= interval):
                last = dts
                due = False
                add_start(rows * 188)
                psi_heads, psi_body, count = _split_packets(self.psi())
                add_head(psi_heads)
                add_body(psi_body)
                rows += count
            else:
                if psi_before and i in psi_before:
                    psi_heads, psi_body, count = _split_packets(self.psi())
                    add_head(psi_heads)
                    add_body(psi_body)
                    rows += count
                add_start(rows * 188)
            sid = out.stream_id
            nal = out.nal
            if nal is not None:  # H.264/H.265: PES_packet_length 0 (2.4.3.7)
                parts = video_parts(frame, nal)
                size = sum(map(len, parts))
                length = _UNSIZED if sid == STREAM_ID_VIDEO else size
            elif out.aac is not None:
                if group is None:
                    data = frame.data
                    size = len(data)
                    adts = out.adts.get(size)
                    if adts is None:
                        adts = out.adts[size] = adts_header(out.aac, size)
                    parts = [b"", adts, data]
                    size += 7
                elif group is MEMBER:  # as above, after the PSI a new track made due
                    continue
                else:  # the PES of this frame and those after it (planned)
                    parts, size = group
                length = size
            elif sid == 0:  # sections (SCTE-35) go out as they are
                data, out.cc = section_packets(out.pid, bytes(frame.data), out.cc)
                psi_heads, psi_body, count = _split_packets(data)
                add_head(psi_heads)
                add_body(psi_body)
                rows += count
                continue
            else:
                es = elementary.encode(frame, out.aac)
                parts = [b"", es]
                size = len(es)
                length = _UNSIZED if sid == STREAM_ID_VIDEO else size
            # the PES header (2.4.3.7) and the adaptation field before it as one integer
            # (the same bytes as build_pes_header and the per-frame path's fields)
            pts = frame.pts
            t = pts % PCR_WRAP
            value = ((t >> 30) << 33) | (((t >> 15) & 0x7FFF) << 17) | ((t & 0x7FFF) << 1)
            if dts == pts:
                length += 8
                if not 0 <= length <= 0xFFFF:  # unsized (video), or too long: 0
                    length = 0
                value |= _PTS_ONLY | (sid << 80) | (length << 64)
                head = 14
            else:
                t = dts % PCR_WRAP
                length += 13
                if not 0 <= length <= 0xFFFF:
                    length = 0
                value = (
                    ((value | _PTS_DTS_MARK) << 40)
                    | _PTS_DTS
                    | (sid << 120)
                    | (length << 104)
                    | ((t >> 30) << 33)
                    | (((t >> 15) & 0x7FFF) << 17)
                    | ((t & 0x7FFF) << 1)
                )
                head = 19
            if on_pcr:  # adaptation field length 7, flags, PCR base (extension 0)
                t = (dts - pcr_delay) % PCR_WRAP
                flags = AF_PCR | AF_RANDOM_ACCESS if key else AF_PCR
                af = (0x07 << 56) | (flags << 48) | (t << 15) | 0x7E00
                af_size = 8
            elif key:
                af = _AF_RANDOM_ACCESS_VALUE
                af_size = 2
            else:
                af_size = 0
            cc = out.cc
            size += head + af_size  # the PES and its adaptation field: what the packets hold
            if size <= 184:  # one packet; the adaptation field takes any stuffing
                fill = 184 - size
                if not fill:
                    if af_size:
                        value |= af << (head * 8)
                    parts[0] = value.to_bytes(head + af_size, "big")
                elif af_size:
                    af += fill << (af_size * 8 - 8)  # its length byte; 0xFF after the flags
                    parts[0] = b"".join(
                        (af.to_bytes(af_size, "big"), _FF[fill], value.to_bytes(head, "big"))
                    )
                else:
                    parts[0] = _STUFFING[fill] + value.to_bytes(head, "big")
                add_head((out.first_af if af_size or fill else out.first)[cc])
                body += parts
                out.cc = (cc + 1) & 15
                rows += 1
                continue
            if af_size:
                parts[0] = ((af << (head * 8)) | value).to_bytes(head + af_size, "big")
                add_head(out.first_af[cc])
            else:
                parts[0] = value.to_bytes(head, "big")
                add_head(out.first[cc])
            middle, rem = divmod(size - 184, 184)
            if middle:  # continuation headers, counters from cc + 1 (a slice of a table)
                start = ((cc + 1) & 15) * 4
                end = start + middle * 4
                runs = out.runs
                if end > len(runs):
                    runs = out.grow(end)
                add_head(runs[start:end])
            if rem:  # the last packet: stuffing, then the last ``rem`` bytes
                tail = parts[-1]
                cut = len(tail) - rem
                if cut >= 0:
                    tail = memoryview(tail)
                    parts[-1] = tail[:cut]
                    body += parts
                else:  # the last part is shorter than that: join the PES first
                    tail = memoryview(b"".join(parts))
                    cut = size - rem
                    add_body(tail[:cut])
                add_body(_STUFFING[184 - rem])
                add_body(tail[cut:])
                cc = (cc + middle + 1) & 15
                add_head(out.last[cc])
                out.cc = (cc + 1) & 15
                rows += middle + 2
            else:
                body += parts
                out.cc = (cc + middle + 1) & 15
                rows += middle + 1
        self._last_psi = last
        if not rows:
            return b"", begins, starts
        if arena is None:
            data = packet_block.interleave(b"".join(heads), b"".join(body), rows)
        else:  # the payload joined in the arena's memory too, let go of once laid out
            joined = arena.join(body)
            data = packet_block.interleave(b"".join(heads), joined, rows, arena)
            joined.release()
        return data, begins, starts

    def _audio_groups(
        self, frames: Sequence[Frame], psi_before: Collection[int]
    ) -> list[list[Frame] | tuple | None]:
        """Which AAC frames of a batch share a PES (:func:`plan_audio_groups`), given the
        outputs whose frames may be grouped: AAC, not on the PCR PID."""
        pcr_pid = self._pcr_pid
        tracks = {
            id(o.track): (o.aac.sample_rate, o.adts, o.aac)
            for o in self._out.values()
            if o.aac is not None and o.pid != pcr_pid
        }
        return plan_audio_groups(frames, tracks, self._audio_pes_bytes, psi_before)

    def _write_each(
        self, frames: Sequence[Frame], psi_before: Collection[int]
    ) -> tuple[bytes, list[int], list[int]]:
        """:meth:`write_batch` frame by frame (few frames, or no numpy)."""
        chunks: list[bytes] = []
        begins: list[int] = []
        starts: list[int] = []
        pos = 0
        write = self.write
        for i, frame in enumerate(frames):
            begins.append(pos)
            data = write(frame)
            if psi_before and i in psi_before and data[1:3] != _PAT_START:
                psi = self.psi()
                chunks.append(psi)
                pos += len(psi)
            starts.append(pos)
            chunks.append(data)
            pos += len(data)
        return b"".join(chunks), begins, starts

    def _packetize(self, out: _Out, pes: bytes, af: bytes) -> bytes:
        """Cut one PES into packets; the first carries ``af`` (flags, PCR), the last stuffing."""
        n = len(pes)
        cc = out.cc
        room = 184 - len(af)
        if n <= room:  # one packet
            if n < room:
                af = _STUFFED_RAI[room - n] if af is _AF_RANDOM_ACCESS else _stuff_af(af, room - n)
            out.cc = (cc + 1) & 15
            return b"".join(((out.first_af if af else out.first)[cc], af, pes))
        mv = memoryview(pes)
        parts: list[bytes | memoryview | Any] = [
            (out.first_af if af else out.first)[cc],
            af,
            mv[:room],
        ]
        cc = (cc + 1) & 15
        count = (n - room) // 184
        full_end = room + count * 184
        block = out.block
        if block is not None and count >= BULK_PACKETS:
            parts.append(block.packets(mv[room:full_end], cc, count))
            cc = (cc + count) & 15
        else:
            cont = out.cont
            for pos in range(room, full_end, 184):
                parts.append(cont[cc])
                parts.append(mv[pos : pos + 184])
                cc = (cc + 1) & 15
        if full_end < n:
            parts.append(out.last[cc])
            parts.append(_STUFFING[184 - (n - full_end)])
            parts.append(mv[full_end:])
            cc = (cc + 1) & 15
        out.cc = cc
        return b"".join(parts)


def _stuff_af(af: bytes, stuffing: int) -> bytes:
    """Grow (or create) an adaptation field by ``stuffing`` bytes (0xFF after the flags)."""
    if not af:
        if stuffing == 1:
            return b"\x00"
        return bytes((stuffing - 1, 0)) + b"\xff" * (stuffing - 2)
    return bytes((af[0] + stuffing,)) + af[1:] + b"\xff" * stuffing


_STUFFING = (b"", *(_stuff_af(b"", size) for size in range(1, 184)))
"""The adaptation field of a last packet by the number of bytes it fills (1..183)."""
_AF_PCR = bytes((7, AF_PCR))
_AF_PCR_RANDOM_ACCESS = bytes((7, AF_PCR | AF_RANDOM_ACCESS))
"""Adaptation field starts (length, flags) on the PCR PID; the 6 PCR bytes follow."""
_AF_RANDOM_ACCESS = bytes((1, AF_RANDOM_ACCESS))
"""The adaptation field of a keyframe's first packet off the PCR PID (audio, mostly)."""
_STUFFED_RAI = tuple(_stuff_af(_AF_RANDOM_ACCESS, size) for size in range(183))
"""That field grown by 0..182 stuffing bytes (a PES that fits in one packet)."""


@functools.lru_cache(maxsize=256)
def _tables(pmt: PMT, pat_cc: int, pmt_cc: int) -> tuple[bytes, int, int]:
    """PAT and PMT packets for ``pmt`` from these counters, and the counters after them:
    shared by every writer (a server's streams mostly have the same tables), so a new
    publication does not compute its sixteen pairs' CRCs again."""
    pat, pat_cc = section_packets(PAT_PID, build_pat([(pmt.program_number, PMT_PID)]), pat_cc)
    pmt_packets, pmt_cc = section_packets(PMT_PID, build_pmt(pmt), pmt_cc)
    return pat + pmt_packets, pat_cc, pmt_cc


@functools.lru_cache(maxsize=64)
def _split_packets(packets: bytes) -> tuple[bytes, bytes, int]:
    """Whole packets (PSI, sections) as their headers, the rest of each, and their count."""
    count = len(packets) // 188
    heads = b"".join(packets[pos : pos + 4] for pos in range(0, count * 188, 188))
    rest = b"".join(packets[pos + 4 : pos + 188] for pos in range(0, count * 188, 188))
    return heads, rest, count


_NO_GROUPS = itertools.repeat(None)
"""The audio plan of a writer that gives every frame its own PES."""
_UNSIZED = -0x10000
"""A PES_packet_length that comes out 0 (video: unbounded, 2.4.3.7)."""
_FF = tuple(b"\xff" * n for n in range(184))
"""Stuffing bytes by count."""
_AF_RANDOM_ACCESS_VALUE = 0x0140
"""The adaptation field :data:`_AF_RANDOM_ACCESS` as an integer."""
_MARKERS = 0x100010001
"""The three marker bits of a 5-byte timestamp field."""
_PTS_ONLY = (0x000001 << 88) | (0x808005 << 40) | (0b0010 << 36) | _MARKERS
"""Start code prefix; '10', PTS flag, header data length 5; PTS prefix '0010', markers."""
_PTS_DTS_MARK = (0b0011 << 36) | _MARKERS
"""The PTS field's prefix when a DTS follows ('0011') and its markers."""
_PTS_DTS = (0x000001 << 128) | (0x80C00A << 80) | (0b0001 << 36) | _MARKERS
"""Start code prefix; '10', PTS and DTS flags, header data length 10; the DTS field's
prefix ('0001') and markers."""

_PAT_START = b"\x40\x00"
"""Bytes 1-2 of a TS packet starting a section on PID 0 (the PAT)."""
