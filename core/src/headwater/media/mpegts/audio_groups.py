"""Which AAC frames of a muxed batch share one PES, as ffmpeg's TS muxer writes them.

In a batch, AAC frames of one track that follow each other on the audio time line may share
one PES of up to :data:`AUDIO_PES_BYTES` (ffmpeg's default payload). A reader takes the
first frame's PTS from the PES and derives each next one from the samples before it (1024
per frame, ISO/IEC 13818-7 ADTS), so frames are grouped only while that derivation lands
within :data:`AUDIO_GROUP_TOLERANCE` of each frame's own timestamp, never across a frame
that must start with PAT and PMT, nor across a change of the Track object. The muxer
(:meth:`headwater.media.mpegts.writer.TSWriter.write_batch`) follows the plan.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from headwater.media.frames import Frame

AUDIO_PES_BYTES = 2930
"""The AAC payload (ADTS headers included) one PES may carry when frames are grouped:
what ffmpeg's TS muxer writes (``pes_payload_size``), 16 packets with a 14-byte header."""

AUDIO_GROUP_TOLERANCE = 90
"""Ticks (90 kHz: 1 ms) a grouped frame's timestamp may differ from the one a reader
derives for it from the PES's first timestamp and the samples before it."""

AAC_FRAME_TICKS = 1024 * 90000
"""Samples of an AAC frame times the 90 kHz clock (divided by the rate: the frame's ticks)."""

_MEMBER: tuple = ()
"""In a batch's audio plan: a frame carried in the PES of an earlier frame of its track."""

MEMBER: tuple = ()
"""In a batch's plan: a frame carried in the PES of an earlier frame of its track."""


def plan_audio_groups(
    frames: Sequence[Frame], rates: dict[int, int], limit: int, psi_before: Collection[int]
) -> list[list[Frame] | tuple | None]:
    """Per frame of ``frames``: None (a PES of its own), the frames of the PES it starts,
    or :data:`MEMBER`. ``rates`` maps ``id(track)`` of every track whose frames may be
    grouped to its sample rate (by the Track object: a new one starts a new PES);
    ``limit`` is the payload bytes a PES may carry; ``psi_before`` the indexes of frames
    that start with PAT and PMT (no PES reaches across them)."""
    plan: list[list[Frame] | tuple | None] = [None] * len(frames)
    open_: dict[int, list] = {}
    """Track id → [first PTS, rate, frames so far, bytes, keyframe flag, the frames]
    of the group the track's next frame may join."""
    leads: list[int] = []
    for i, frame in enumerate(frames):
        if psi_before and i in psi_before:
            open_.clear()  # a segment starts here: no PES reaches across
        track = frame.track
        rate = rates.get(id(track))
        if rate is None:
            if open_:
                open_.pop(track.id, None)
            continue
        tid = track.id
        pts = frame.pts
        size = len(frame.data) + 7
        group = open_.get(tid)
        if group is not None:
            first, group_rate, count, total, key, members = group
            if (
                total + size <= limit
                and frame.dts == pts
                and frame.keyframe == key
                and abs(first + count * AAC_FRAME_TICKS // group_rate - pts)
                <= AUDIO_GROUP_TOLERANCE
            ):
                members.append(frame)
                group[2] = count + 1
                group[3] = total + size
                plan[i] = MEMBER
                continue
        if frame.dts != pts or size > limit or not rate:
            open_.pop(tid, None)
            continue
        members = [frame]
        open_[tid] = [pts, rate, 1, size, frame.keyframe, members]
        plan[i] = members
        leads.append(i)
    for i in leads:
        if len(plan[i]) == 1:  # type: ignore[arg-type]
            plan[i] = None  # alone after all: the ordinary path
    return plan
