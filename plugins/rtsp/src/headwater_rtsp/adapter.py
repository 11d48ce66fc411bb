"""RTP ↔ headwater frames, for one RTSP session.

:class:`PublishAdapter` takes a publisher's RTP and RTCP packets per medium and returns
frames: packets put back in order (UDP), depacketized (:mod:`headwater.media.rtp`), RTP
timestamps turned into 90 kHz times with every track aligned on the session's first packet,
H.264/H.265 parameter sets learnt in band (a new Track when they change), decode times
derived for B-frames; it counts loss and writes the receiver reports.
:class:`PlayAdapter` turns a subscription's frames into RTP packets and sender reports
for each described medium. Both are sans-I/O: time comes in as arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from headwater.media import h264, h265
from headwater.media.decode_time import DecodeTimes
from headwater.media.frames import CLOCK_RATE, Codec, Frame, Track
from headwater.media.rtp.clock import RTPClock
from headwater.media.rtp.formats import ReceivedFormat, SentFormat, learn_parameter_sets
from headwater.media.rtp.packet import RTP_FIXED, RTPError, parse_rtp, rtp_header
from headwater.media.rtp.reorder import ReorderBuffer
from headwater.media.rtp.rtcp import SenderReport, ntp_time, parse_rtcp, receiver_report
from headwater.media.rtp.rtcp import sender_report as make_sender_report

SENDER_REPORT_INTERVAL = 5 * CLOCK_RATE
"""Media time between two sender reports to a player (90 kHz ticks)."""


@dataclass(slots=True)
class _Incoming:
    fmt: ReceivedFormat
    track: Track
    clock: RTPClock
    reorder: ReorderBuffer | None
    times: DecodeTimes[tuple[Track, tuple[bytes, ...], bool]] | None
    push: Any = None
    """The depacketizer's ``push`` (looked up once: this is the per-packet path)."""
    push_fields: Any = None
    """The depacketizer's ``push_fields`` when it has one and packets come in order (TCP)."""
    payload_type: int = 0
    packets_started: bool = False
    ssrc: int = 0
    report: SenderReport | None = None
    report_at: float = 0.0
    expected_prior: int = 0
    received_prior: int = 0
    packets: int = 0


@dataclass
class PublishAdapter:
    """A publisher's RTP per medium index → frames (see the module docstring)."""

    formats: list[ReceivedFormat | None]
    udp: bool = False
    reorder_size: int = 64
    reorder_wait: float = 0.5
    ssrc: int = field(default_factory=lambda: int.from_bytes(os.urandom(4), "big"))
    """Our SSRC in receiver reports."""
    malformed: int = 0
    """Packets that were not RTP/RTCP, or of an unexpected payload type."""
    waiting: int = 0
    """Video frames dropped because no parameter sets were known yet."""

    def __post_init__(self) -> None:
        self._media: dict[int, _Incoming] = {}
        self._start: float | None = None
        for index, fmt in enumerate(self.formats):
            if fmt is None:
                continue
            self._media[index] = _Incoming(
                fmt,
                fmt.track,
                RTPClock(fmt.clock_rate),
                ReorderBuffer(self.reorder_size, self.reorder_wait) if self.udp else None,
                DecodeTimes() if fmt.is_nal else None,
                fmt.depacketizer.push,
                None if self.udp else getattr(fmt.depacketizer, "push_fields", None),
                fmt.payload_type,
            )

    @property
    def lost(self) -> int:
        """Packets lost on the way (UDP), all media together."""
        return sum(m.reorder.lost for m in self._media.values() if m.reorder)

    @property
    def dropped(self) -> int:
        """Packets or NAL units the depacketizers threw away."""
        return sum(m.fmt.depacketizer.dropped for m in self._media.values())

    def rtp(self, index: int, data: bytes, now: float) -> list[Frame]:
        """The frames one RTP packet of medium ``index`` completes (received at ``now``)."""
        media = self._media.get(index)
        if media is None:
            return []
        if media.push_fields is not None and len(data) > 12 and data[0] == 0x80:
            # the per-packet path of TCP video: header fields straight to the depacketizer
            _, second, sequence, timestamp, ssrc = RTP_FIXED.unpack_from(data)
            if second & 0x7F != media.payload_type:
                self.malformed += 1
                return []
            media.ssrc = ssrc
            media.packets += 1
            if not media.packets_started:
                self._first_packet(media, now)
            units = media.push_fields(sequence, timestamp, second > 0x7F, data[12:])
        else:
            try:
                packet = parse_rtp(data)
            except RTPError:
                self.malformed += 1
                return []
            if packet.payload_type != media.payload_type:
                self.malformed += 1
                return []
            media.ssrc = packet.ssrc
            media.packets += 1
            if not media.packets_started:
                self._first_packet(media, now)
            if media.reorder is not None:
                return self._depacketize(media, media.reorder.push(packet, now))
            units = media.push(packet)
        if not units:  # most packets complete nothing
            return []
        out: list[Frame] = []
        for timestamp, payload in units:
            self._frame(media, timestamp, payload, out)
        return out

    def _first_packet(self, media: _Incoming, now: float) -> None:
        """Start the medium's clock where its first packet falls on the session's time."""
        media.packets_started = True
        if self._start is None:
            self._start = now
        media.clock.start = round((now - self._start) * CLOCK_RATE)

    def expire(self, now: float) -> list[Frame]:
        """Frames freed by giving up on UDP gaps older than ``reorder_wait`` (call often)."""
        out: list[Frame] = []
        for media in self._media.values():
            if media.reorder is not None and media.reorder.held:
                out += self._depacketize(media, media.reorder.expire(now))
        return out

    def _depacketize(self, media: _Incoming, packets: list[Any]) -> list[Frame]:
        out: list[Frame] = []
        for p in packets:
            for timestamp, payload in media.fmt.depacketizer.push(p):
                self._frame(media, timestamp, payload, out)
        return out

    def flush(self) -> list[Frame]:
        """Frames still held (the publisher left)."""
        out: list[Frame] = []
        for media in self._media.values():
            if media.reorder is not None:
                out += self._depacketize(media, media.reorder.flush())
            for timestamp, payload in media.fmt.depacketizer.flush():
                self._frame(media, timestamp, payload, out)
            if media.times is not None:
                for pts, dts, (track, nalus, key) in media.times.flush():
                    out.append(Frame(track, pts, dts, key, nalus=nalus))
        return out

    def _frame(self, media: _Incoming, timestamp: int, payload: Any, out: list[Frame]) -> None:
        pts = media.clock.ticks(timestamp)
        if media.times is None:
            out.append(Frame(media.track, pts, pts, True, data=payload))
            return
        nalus = tuple(payload)
        learnt = learn_parameter_sets(media.track, nalus)
        if learnt is not None:
            media.track = learnt
        track = media.track
        if not track.parameter_sets:
            self.waiting += 1
            return
        codec = h264 if track.codec is Codec.H264 else h265
        key = codec.is_keyframe(nalus)
        for p, d, (t, n, k) in media.times.push(pts, (track, nalus, key)):
            out.append(Frame(t, p, d, k, nalus=n))

    def rtcp(self, index: int, data: bytes, now: float) -> None:
        """Take an RTCP packet of medium ``index`` (sender reports are kept for our reports)."""
        media = self._media.get(index)
        if media is None:
            return
        try:
            reports = parse_rtcp(data)
        except RTPError:
            self.malformed += 1
            return
        for report in reports:
            if isinstance(report, SenderReport):
                media.report, media.report_at = report, now

    def receiver_reports(self, now: float) -> list[tuple[int, bytes]]:
        """One receiver report per medium that received packets (RFC 3550 6.4.2, A.3)."""
        out = []
        for index, media in self._media.items():
            if not media.packets:
                continue
            reorder = media.reorder
            if reorder is not None and reorder.highest >= 0:
                highest = reorder.highest
                lost = reorder.lost
                expected = reorder.received + lost
            else:
                highest, lost, expected = media.packets & 0xFFFF, 0, media.packets
            received = expected - lost
            interval_expected = expected - media.expected_prior
            interval_lost = interval_expected - (received - media.received_prior)
            media.expected_prior, media.received_prior = expected, received
            fraction = (
                (interval_lost << 8) // interval_expected
                if interval_expected > 0 and interval_lost > 0
                else 0
            )
            lsr = dlsr = 0
            if media.report is not None:
                lsr = media.report.middle_ntp
                dlsr = int((now - media.report_at) * 65536)
            report = receiver_report(
                self.ssrc,
                media.ssrc,
                fraction_lost=min(fraction, 255),
                cumulative_lost=lost,
                highest_sequence=highest,
                last_sr=lsr,
                delay_since_last_sr=dlsr,
            )
            out.append((index, report))
        return out


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
