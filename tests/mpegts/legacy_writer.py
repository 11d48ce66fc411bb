"""The per-packet MPEG-TS muxer as it was before the bulk packetizer (commit 9054a7b).

Kept verbatim (but for this docstring) as the reference the new writer must equal byte for
byte: tests/mpegts/test_writer_bulk.py feeds both the same frames. The elementary-stream
encoder of that commit (``encode``) is copied at the end. Original docstring:

The MPEG-TS muxer (ISO/IEC 13818-1 2.4): headwater frames → 188-byte-aligned TS.

:meth:`TSWriter.write` turns one frame into whole packets: PAT and PMT first and then
again every ``psi_interval`` (100 ms) and before every video keyframe, so a player that
joins anywhere (HLS segment, UDP multicast) starts at once; a PES with PTS (and DTS when
it differs); a PCR in the adaptation field of each PES start on the PCR PID (the first
video track, else the first track); the random_access_indicator on keyframes; adaptation
field stuffing in the last packet of a PES (2.4.3.5); continuity counters per PID.

Speed: headers are precomputed per PID and counter, and a PES is cut into packets with
memoryview slices joined once, so the Python work is a few operations per packet.
"""

from __future__ import annotations

from collections.abc import Iterable

from headwater.media import h264, h265
from headwater.media.aac import AudioSpecificConfig, adts_header
from headwater.media.annexb import START_CODE
from headwater.media.frames import Codec, Frame, MediaKind, Track
from headwater.media.mpegts import elementary
from headwater.media.mpegts.audio_frames import opus_control_header
from headwater.media.mpegts.packet import AF_PCR, AF_RANDOM_ACCESS, PAT_PID, encode_pcr, header
from headwater.media.mpegts.pes import STREAM_ID_VIDEO, TIMESTAMP_WRAP
from headwater.media.mpegts.psi import PMT, ElementaryStream, build_pat, build_pmt, section_packets
from headwater.media.mpegts.stream_types import stream_type_for

PMT_PID = 0x1000
FIRST_ES_PID = 0x100


# the PES header builder of commit c028de1 (pes.py now assembles it as one integer)
def _encode_timestamp(marker: int, ts: int) -> bytes:
    ts %= TIMESTAMP_WRAP
    v = (marker << 36) | ((ts >> 30) << 33) | (((ts >> 15) & 0x7FFF) << 17) | ((ts & 0x7FFF) << 1)
    return (v | 0x100010001).to_bytes(5, "big")


def build_pes_header(
    stream_id: int, pts: int, dts: int | None, payload_size: int, *, sized: bool
) -> bytes:
    """Build a PES header with PTS (and DTS when it differs) for ``payload_size`` ES bytes.

    ``sized`` False writes PES_packet_length 0 (allowed for video, 2.4.3.7); a payload too
    big for the 16-bit field also gets 0.
    """
    if dts is None or dts == pts:
        opt = b"\x80\x80\x05" + _encode_timestamp(0b0010, pts)
    else:
        opt = b"\x80\xc0\x0a" + _encode_timestamp(0b0011, pts) + _encode_timestamp(0b0001, dts)
    length = len(opt) + payload_size
    if not sized or length > 0xFFFF:
        length = 0
    return bytes((0, 0, 1, stream_id, length >> 8, length & 0xFF)) + opt


class _Out:
    """Per-track output state: PID, PES stream_id, counters and precomputed headers."""

    __slots__ = ("aac", "cc", "cont", "es", "pid", "stream_id", "track")

    def __init__(self, track: Track, pid: int) -> None:
        self.pid = pid
        self.cc = 0
        self.cont = tuple(header(pid, cc) for cc in range(16))
        self.track = track
        self.es = ElementaryStream(0, pid)
        self.stream_id = 0
        self.aac = None
        self.retrack(track)

    def retrack(self, track: Track) -> bool:
        """Adopt a (possibly new) Track object; True when the PMT entry changes."""
        self.track = track
        extra_type = track.extra.get("stream_type") if track.codec is Codec.DATA else None
        st, desc, sid = stream_type_for(track.codec, track.channels, extra_type)
        if track.codec is Codec.DATA:
            desc = bytes(track.extra.get("descriptors", desc))
        self.stream_id = sid
        self.aac = elementary.aac_config_of(track) if track.codec is Codec.AAC else None
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
    DTS of the frame it precedes.
    """

    def __init__(
        self,
        tracks: Iterable[Track] = (),
        *,
        psi_interval: int = 9000,
        pcr_delay: int = 0,
        program_number: int = 1,
    ) -> None:
        self._out: dict[int, _Out] = {}
        self._program = program_number
        self._psi_interval = psi_interval
        self._pcr_delay = pcr_delay
        self._pmt_version = 0
        self._pat_cc = 0
        self._pmt_cc = 0
        self._last_psi: int | None = None
        self._psi_due = True
        self._pcr_pid = -1
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
        pat, self._pat_cc = section_packets(
            PAT_PID, build_pat([(self._program, PMT_PID)]), self._pat_cc
        )
        pmt = PMT(
            self._program, self._pmt_version, self._pcr_pid, tuple(o.es for o in self._out.values())
        )
        pmt_packets, self._pmt_cc = section_packets(PMT_PID, build_pmt(pmt), self._pmt_cc)
        self._psi_due = False
        return pat + pmt_packets

    def write(self, frame: Frame) -> bytes:
        """Packets for one frame (PSI first when due); a multiple of 188 bytes."""
        track = frame.track
        out = self._out.get(track.id)
        if out is None:
            out = self._add(track)
        elif out.track is not track and out.retrack(track):
            self._pmt_version = (self._pmt_version + 1) & 0x1F
            self._pick_pcr()
            self._psi_due = True
        if out.stream_id == 0:  # sections (SCTE-35) go out as they are
            data, out.cc = section_packets(out.pid, bytes(frame.data), out.cc)
            return self._psi_if_due(frame, out) + data
        psi = self._psi_if_due(frame, out)
        es = encode(frame, out.aac)
        video = out.stream_id == STREAM_ID_VIDEO
        pes = build_pes_header(out.stream_id, frame.pts, frame.dts, len(es), sized=not video) + es
        flags = AF_RANDOM_ACCESS if frame.keyframe else 0
        pcr = b""
        if out.pid == self._pcr_pid:
            flags |= AF_PCR
            pcr = encode_pcr((frame.dts - self._pcr_delay) * 300)
        return psi + self._packetize(out, pes, flags, pcr)

    def _psi_if_due(self, frame: Frame, out: _Out) -> bytes:
        if (
            self._psi_due
            or self._last_psi is None
            or (frame.keyframe and out.track.kind is MediaKind.VIDEO)
            or (out.pid == self._pcr_pid and frame.dts - self._last_psi >= self._psi_interval)
        ):
            self._last_psi = frame.dts
            return self.psi()
        return b""

    def _packetize(self, out: _Out, pes: bytes, flags: int, pcr: bytes) -> bytes:
        """Cut one PES into packets; the first carries the flags (and PCR), the last stuffing."""
        n = len(pes)
        cc = out.cc
        af = bytes((1 + len(pcr), flags)) + pcr if flags else b""
        room = 184 - len(af)
        if n < room:
            af = _stuff_af(af, room - n)
            room = n
        parts: list[bytes | memoryview] = [
            header(out.pid, cc, pusi=True, adaptation=bool(af)),
            af,
            pes[:room],
        ]
        cc = (cc + 1) & 15
        mv = memoryview(pes)
        cont = out.cont
        full_end = room + (n - room) // 184 * 184
        for pos in range(room, full_end, 184):
            parts.append(cont[cc])
            parts.append(mv[pos : pos + 184])
            cc = (cc + 1) & 15
        if full_end < n:
            parts.append(header(out.pid, cc, adaptation=True))
            parts.append(_stuff_af(b"", 184 - (n - full_end)))
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


# -- headwater.media.mpegts.elementary.encode as of commit 9054a7b ---------------------


def encode(frame: Frame, aac_config: AudioSpecificConfig | None = None) -> bytes:
    """The PES payload for one frame (see the module docstring for what is added)."""
    codec = frame.track.codec
    if codec is Codec.H264 or codec is Codec.H265:
        return _encode_video(frame, codec is Codec.H265)
    if codec is Codec.AAC:
        if aac_config is None:
            raise ValueError("an AAC frame needs an AudioSpecificConfig to get an ADTS header")
        return adts_header(aac_config, len(frame.data)) + frame.data
    if codec is Codec.OPUS:
        return opus_control_header(len(frame.data)) + frame.data
    return bytes(frame.data)


def _encode_video(frame: Frame, hevc: bool) -> bytes:
    nalus = frame.nalus
    parts = [START_CODE, h265.AUD_NALU if hevc else h264.AUD_NALU]
    if frame.keyframe and frame.track.parameter_sets:
        if hevc:
            has = any(n and (n[0] >> 1) & 0x3F == h265.NAL_SPS for n in nalus)
        else:
            has = any(n and n[0] & 0x1F == h264.NAL_SPS for n in nalus)
        if not has:
            for ps in frame.track.parameter_sets:
                parts.append(START_CODE)
                parts.append(ps)
    for n in nalus:
        if hevc:
            if (n[0] >> 1) & 0x3F == h265.NAL_AUD:
                continue
        elif n[0] & 0x1F == h264.NAL_AUD:
            continue
        parts.append(START_CODE)
        parts.append(n)
    return b"".join(parts)
