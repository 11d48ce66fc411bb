"""RTP ↔ headwater frames, for one RTSP session.

:class:`PublishAdapter` (here) takes a publisher's RTP and RTCP packets per medium and returns
frames: packets put back in order (UDP), depacketized (:mod:`headwater.media.rtp`), RTP
timestamps turned into 90 kHz times with every track aligned on the session's first packet,
H.264/H.265 parameter sets learnt in band (a new Track when they change), decode times
derived for B-frames; it counts loss and writes the receiver reports.
:class:`PlayAdapter` turns a subscription's frames into RTP packets and sender reports
for each described medium (:mod:`.play_adapter`). Both are sans-I/O: time comes in as
arguments.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any

from headwater.media.decode_time import DecodeTimes
from headwater.media.frames import CLOCK_RATE, Codec, Frame, Track
from headwater.media.rtp.access_unit import NALDepacketizer
from headwater.media.rtp.clock import RTPClock
from headwater.media.rtp.formats import ReceivedFormat, learn_parameter_sets
from headwater.media.rtp.limits import MAX_ACCESS_UNIT
from headwater.media.rtp.packet import RTPError, RTPPacket, parse_rtp
from headwater.media.rtp.reorder import ReorderBuffer
from headwater.media.rtp.rtcp import SenderReport, parse_rtcp, receiver_report
from headwater_rtsp.play_adapter import PlayAdapter

_FRAME = struct.Struct("!HHHHIIBBB")
"""An interleaved frame's header (``$`` and channel, length), the fixed RTP header (V/P/X/CC
and M/PT, sequence, timestamp, SSRC) and the first three payload bytes: 19 bytes."""
_HEADER = struct.Struct("!xBHII")
"""The fixed RTP header after its first byte (checked before): M/PT, sequence, timestamp,
SSRC (RFC 3550 5.1)."""


class _Incoming:
    """One announced medium of a publisher: its packets → frames (the per-packet path)."""

    __slots__ = (
        "clock",
        "expected_prior",
        "fmt",
        "owner",
        "packets",
        "packets_started",
        "payload_type",
        "push_fields",
        "received_prior",
        "reorder",
        "report",
        "report_at",
        "scan",
        "ssrc",
        "times",
        "track",
    )

    def __init__(
        self, owner: PublishAdapter, fmt: ReceivedFormat, reorder: ReorderBuffer | None
    ) -> None:
        self.owner = owner
        self.fmt = fmt
        self.track: Track = fmt.track
        self.clock = RTPClock(fmt.clock_rate)
        self.reorder = reorder
        self.times: DecodeTimes[tuple[Track, tuple[bytes, ...], bool]] | None = (
            DecodeTimes() if fmt.is_nal else None
        )
        self.scan = _scan_h264 if fmt.track.codec is Codec.H264 else _scan_h265
        self.push_fields = fmt.depacketizer.push_fields
        """The depacketizer's ``push_fields`` (looked up once: this is the per-packet path)."""
        self.payload_type = fmt.payload_type
        self.packets_started = False
        self.ssrc = 0
        self.report: SenderReport | None = None
        self.report_at = 0.0
        self.expected_prior = 0
        self.received_prior = 0
        self.packets = 0

    def receive(self, data: bytes | memoryview, now: float) -> list[Frame]:
        """The frames one RTP packet completes: its header read with one ``unpack_from``,
        its payload handed on as a slice of ``data`` (no copy); a packet UDP delivered in
        order skips the reorder buffer."""
        if len(data) > 12 and data[0] == 0x80:  # no padding, extension or CSRCs
            second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
            if second & 0x7F != self.payload_type:
                self.owner.malformed += 1
                return []
            self.ssrc = ssrc
            self.packets += 1
            if not self.packets_started:
                self.owner._first_packet(self, now)
            reorder = self.reorder
            if reorder is not None and not reorder.in_order(sequence):
                packet = RTPPacket(
                    second & 0x7F, sequence, timestamp, ssrc, bytes(data[12:]), second > 0x7F
                )
                return self._released(reorder.push(packet, now))
            units = self.push_fields(sequence, timestamp, second > 0x7F, data, 12)
        else:
            try:
                packet = parse_rtp(bytes(data))
            except RTPError:
                self.owner.malformed += 1
                return []
            if packet.payload_type != self.payload_type:
                self.owner.malformed += 1
                return []
            self.ssrc = packet.ssrc
            self.packets += 1
            if not self.packets_started:
                self.owner._first_packet(self, now)
            if self.reorder is not None:
                return self._released(self.reorder.push(packet, now))
            units = self.push_fields(packet.sequence, packet.timestamp, packet.marker,
                                     packet.payload)  # fmt: skip
        if not units:  # most packets complete nothing
            return []
        out: list[Frame] = []
        for timestamp, payload in units:
            self.frame(timestamp, payload, out)
        return out

    def _released(self, packets: list[RTPPacket]) -> list[Frame]:
        out: list[Frame] = []
        push = self.push_fields
        for p in packets:
            for timestamp, payload in push(p.sequence, p.timestamp, p.marker, p.payload):
                self.frame(timestamp, payload, out)
        return out

    def frame(self, timestamp: int, payload: Any, out: list[Frame]) -> None:
        """Append the frames of one depacketized unit to ``out`` (video: in decode order)."""
        pts = self.clock.ticks(timestamp)
        times = self.times
        if times is None:
            out.append(Frame(self.track, pts, pts, True, payload))
            return
        nalus = tuple(payload)
        sets, key = self.scan(nalus)
        if sets:
            learnt = learn_parameter_sets(self.track, nalus)
            if learnt is not None:
                self.track = learnt
        track = self.track
        if not track.parameter_sets:
            self.owner.waiting += 1
            return
        for p, d, (t, n, k) in times.push(pts, (track, nalus, key)):
            out.append(Frame(t, p, d, k, b"", n))


def _scan_h264(nalus: tuple[bytes, ...]) -> tuple[bool, bool]:
    """(holds an SPS and a PPS, holds an IDR slice) in one pass over an access unit."""
    sps = pps = key = False
    for n in nalus:
        if n:
            kind = n[0] & 0x1F
            if kind == 5:
                key = True
            elif kind == 7:
                sps = True
            elif kind == 8:
                pps = True
    return sps and pps, key


def _scan_h265(nalus: tuple[bytes, ...]) -> tuple[bool, bool]:
    """(holds a VPS, an SPS and a PPS, holds an IRAP picture) in one pass."""
    seen = 0
    key = False
    for n in nalus:
        if n:
            kind = (n[0] >> 1) & 0x3F
            if 16 <= kind <= 21:
                key = True
            elif 32 <= kind <= 34:
                seen |= 1 << (kind - 32)
    return seen == 7, key


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
        self._rtp_channels: list[_Incoming | None] = [None] * 256
        self._video: tuple[Any, ...] | None = None
        """What :meth:`interleaved` needs of the video medium (set by :meth:`route`)."""
        self._rtcp_channels: list[int | None] = [None] * 256
        for index, fmt in enumerate(self.formats):
            if fmt is None:
                continue
            reorder = ReorderBuffer(self.reorder_size, self.reorder_wait) if self.udp else None
            self._media[index] = _Incoming(self, fmt, reorder)

    @property
    def lost(self) -> int:
        """Packets lost on the way (UDP), all media together."""
        return sum(m.reorder.lost for m in self._media.values() if m.reorder)

    @property
    def dropped(self) -> int:
        """Packets or NAL units the depacketizers threw away."""
        return sum(m.fmt.depacketizer.dropped for m in self._media.values())

    def rtp(self, index: int, data: bytes | memoryview, now: float) -> list[Frame]:
        """The frames one RTP packet of medium ``index`` completes (received at ``now``)."""
        media = self._media.get(index)
        if media is None:
            return []
        return media.receive(data, now)

    def route(self, channel: int, index: int, rtcp: bool) -> None:
        """Interleaved ``channel`` carries the RTP (or RTCP) of medium ``index`` (RTSP/TCP:
        the channels of SETUP's ``interleaved=`` pair), for :meth:`interleaved` and
        :meth:`packet`."""
        if rtcp:
            self._rtcp_channels[channel] = index
            return
        media = self._media.get(index)
        self._rtp_channels[channel] = media
        if media is not None and media.times is not None and media.reorder is None:
            dep = media.fmt.depacketizer
            if isinstance(dep, NALDepacketizer):  # the video medium: the fused fast path
                self._video = (0x2400 | channel, 0x8000 | media.payload_type, media, dep,
                               dep.FU_MASK, dep.FU_VALUE, 6 + dep.FU_HEADER_AT,
                               17 + dep.FU_HEADER_AT)  # fmt: skip

    def interleaved(self, data: bytes, now: float, start: int = 0) -> tuple[list[Frame], int]:
        """The frames completed by the whole interleaved frames (RFC 2326 10.12) in
        ``data`` from ``start``, and where they end: the scan stops at the first
        byte that does not open a ``$`` frame (a request) or at a frame the read cut, for
        the connection's :class:`~headwater_rtsp.wire.message.MessageReader`.

        This is the hot path of RTSP/TCP ingest, so it is one pass over the read: one
        ``unpack_from`` reads the frame header, the RTP header and the first payload bytes
        together, and a middle fragment of the video's FU-A/FU (most packets) is kept as a
        slice of ``data`` at once, without any other call (the contract documented on
        :class:`~headwater.media.rtp.access_unit.NALDepacketizer`). Every other packet
        goes through :meth:`packet`. The result is the same as :meth:`packet` for each
        frame in turn; ``data`` must not change afterwards.
        """
        out: list[Frame] = []
        size = len(data)
        pos = start
        view = memoryview(data)
        fast = self._video
        if fast is None:
            tag = plain = mask = value = fu_index = skip = -1
            media = dep = None
        else:
            tag, plain, media, dep, mask, value, fu_index, skip = fast
        unpack = _FRAME.unpack_from
        by_channel = self._rtp_channels
        while pos + 4 <= size:
            if pos + 19 <= size:
                head = unpack(data, pos)
                end = pos + 4 + head[1]
                if (
                    head[0] == tag  # "$" and the video's channel
                    and head[2] == plain  # RTP version 2 and nothing more, the payload type
                    and head[3] == dep.next_sequence  # type: ignore[union-attr]
                    and head[4] == dep.timestamp  # type: ignore[union-attr]
                    and (fragment := dep.fragment) is not None  # type: ignore[union-attr]
                    and head[6] & mask == value
                    and not head[fu_index] & 0xC0
                    and end <= size
                    and (n := end - pos - skip) > 0
                    and dep.fragment_size + n <= MAX_ACCESS_UNIT  # type: ignore[union-attr]
                ):  # a middle fragment of the NAL unit in progress
                    fragment.append(view[pos + skip : end])
                    dep.fragment_size += n  # type: ignore[union-attr]
                    dep.next_sequence = (head[3] + 1) & 0xFFFF  # type: ignore[union-attr]
                    media.ssrc = head[5]  # type: ignore[union-attr]
                    media.packets += 1  # type: ignore[union-attr]
                    pos = end
                    continue
                if head[0] >> 8 != 0x24 or end > size:
                    break
                channel = head[0] & 0xFF
                other = by_channel[channel]
                if (
                    other is not None
                    and head[2] >> 8 == 0x80
                    and head[2] & 0x7F == other.payload_type
                    and other.reorder is None
                    and end - pos > 16
                ):  # any other plain RTP packet: what receive() does, from the header read
                    other.ssrc = head[5]
                    other.packets += 1
                    if not other.packets_started:
                        self._first_packet(other, now)
                    units = other.push_fields(
                        head[3], head[4], head[2] & 0x80 != 0, view[pos + 16 : end]
                    )
                    if units:
                        frame = other.frame
                        for timestamp, payload in units:
                            frame(timestamp, payload, out)
                    pos = end
                    continue
            else:
                if data[pos] != 0x24:
                    break
                end = pos + 4 + ((data[pos + 2] << 8) | data[pos + 3])
                if end > size:
                    break
                channel = data[pos + 1]
            frames = self.packet(channel, view[pos + 4 : end], now)
            if frames:
                out += frames
            pos = end
        return out, pos

    def packet(self, channel: int, packet: bytes | memoryview, now: float) -> list[Frame]:
        """The frames one interleaved RTP packet of ``channel`` completes (RTCP is taken,
        unknown channels are ignored)."""
        media = self._rtp_channels[channel]
        if media is None:
            index = self._rtcp_channels[channel]
            if index is not None:
                self.rtcp(index, packet, now)
            return []
        return media.receive(packet, now)

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
                out += media._released(media.reorder.expire(now))
        return out

    def flush(self) -> list[Frame]:
        """Frames still held (the publisher left)."""
        out: list[Frame] = []
        for media in self._media.values():
            if media.reorder is not None:
                out += media._released(media.reorder.flush())
            for timestamp, payload in media.fmt.depacketizer.flush():
                media.frame(timestamp, payload, out)
            if media.times is not None:
                for pts, dts, (track, nalus, key) in media.times.flush():
                    out.append(Frame(track, pts, dts, key, nalus=nalus))
        return out

    def rtcp(self, index: int, data: bytes | memoryview, now: float) -> None:
        """Take an RTCP packet of medium ``index`` (sender reports are kept for our reports)."""
        media = self._media.get(index)
        if media is None:
            return
        try:
            reports = parse_rtcp(bytes(data))
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


__all__ = ["PlayAdapter", "PublishAdapter"]
