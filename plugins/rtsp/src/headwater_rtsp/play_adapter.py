"""Headwater frames → RTP for an RTSP player: :class:`PlayAdapter` packetizes a
subscription's frames for each described medium (RFC 6184, 7798, 3640, 7587, 3551 through
:mod:`headwater.media.rtp.formats`) and sends an RTCP sender report (RFC 3550 6.4.1) every
few seconds of media, so that players can map RTP time to wall-clock time. Sans-I/O."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from headwater.media import h264, h265
from headwater.media.frames import CLOCK_RATE, Codec, Frame
from headwater.media.rtp.formats import SentFormat
from headwater.media.rtp.packet import rtp_header
from headwater.media.rtp.rtcp import ntp_time
from headwater.media.rtp.rtcp import sender_report as make_sender_report

SENDER_REPORT_INTERVAL = 5 * CLOCK_RATE
"""Media time between two sender reports to a player (90 kHz ticks)."""


@dataclass(slots=True)
class _Outgoing:
    fmt: SentFormat
    payload_type: int
    ssrc: int
    sequence: int
    base: int
    packets: int = 0
    octets: int = 0
    next_report: int | None = None


class PlayAdapter:
    """Frames of a subscription → RTP and RTCP packets per described medium.

    ``sent[i]`` is medium ``i``, made for the stream track whose id is ``track_ids[i]``.
    Frames of other tracks are skipped. H.264/H.265 keyframes get the track's parameter sets
    in front when they do not carry them, so a player can start at any keyframe.
    """

    def __init__(self, sent: list[SentFormat], track_ids: list[int], wall_clock: float) -> None:
        rand = os.urandom
        self._out = [
            _Outgoing(
                fmt,
                fmt.media.payload_type,
                int.from_bytes(rand(4), "big"),
                int.from_bytes(rand(2), "big"),
                int.from_bytes(rand(4), "big"),
            )
            for fmt in sent
        ]
        self._index = {tid: i for i, tid in enumerate(track_ids)}
        self._origin: int | None = None
        self.wall_clock = wall_clock
        """Unix time of the first frame's dts (sender reports map media time onto it); set
        it when playing really starts."""

    @property
    def started(self) -> bool:
        """True once a frame was turned into packets."""
        return self._origin is not None

    def rtp_info(self) -> list[tuple[int, int]]:
        """(sequence, rtptime) each medium starts at (for the ``RTP-Info`` header)."""
        return [(o.sequence, o.base) for o in self._out]

    def packets(self, frame: Frame) -> list[tuple[int, bool, bytes]]:
        """(medium index, is RTCP, packet) for one frame."""
        index = self._index.get(frame.track.id)
        if index is None:
            return []
        out = self._out[index]
        if self._origin is None:
            self._origin = frame.dts
        clock = out.fmt.clock_rate
        elapsed = frame.pts - self._origin
        ts = (out.base + (elapsed * clock + CLOCK_RATE // 2) // CLOCK_RATE) & 0xFFFFFFFF
        result: list[tuple[int, bool, bytes]] = []
        if out.next_report is None or frame.pts >= out.next_report:
            out.next_report = frame.pts + SENDER_REPORT_INTERVAL
            ntp = ntp_time(self.wall_clock + elapsed / CLOCK_RATE)
            report = make_sender_report(out.ssrc, ntp, ts, out.packets, out.octets)
            result.append((index, True, report))
        if frame.nalus:
            payload: Any = frame.nalus
            if frame.keyframe and frame.track.parameter_sets:
                payload = _with_parameter_sets(frame)
        else:
            payload = frame.data
        pt, ssrc = out.payload_type, out.ssrc
        seq = out.sequence
        for body, marker in out.fmt.packetize(payload):
            packet = rtp_header(pt, marker, seq, ts, ssrc) + body
            result.append((index, False, packet))
            seq = (seq + 1) & 0xFFFF
            out.packets += 1
            out.octets += len(body)
        out.sequence = seq
        return result


def _with_parameter_sets(frame: Frame) -> tuple[bytes, ...]:
    codec = frame.track.codec
    nalus = frame.nalus
    if codec is Codec.H264:
        sps, pps = h264.parameter_sets(nalus)
        if sps and pps:
            return nalus
    else:
        vps, sps, pps = h265.parameter_sets(nalus)
        if vps and sps and pps:
            return nalus
    return (*frame.track.parameter_sets, *nalus)
