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

from headwater.media.aac import AudioSpecificConfig, adts_header
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
    frames: Sequence[Frame],
    tracks: dict[int, tuple[int, dict[int, bytes], AudioSpecificConfig]],
    limit: int,
    psi_before: Collection[int],
) -> list[tuple[list[bytes], int] | tuple | None]:
    """Per frame of ``frames``: None (a PES of its own), the payload of the PES it starts
    (its parts after an empty first item left for the PES header, ADTS header and raw
    frame for each frame it carries, and their size), or :data:`MEMBER`. ``tracks`` maps
    ``id(track)`` of every track whose frames may be grouped to its sample rate, the
    ADTS headers made so far by raw frame size (filled here) and its configuration (by
    the Track object: a new one starts a new PES); ``limit`` is the payload bytes a PES
    may carry; ``psi_before`` the indexes of frames that start with PAT and PMT (no PES
    reaches across them)."""
    plan: list = [None] * len(frames)
    open_: dict[int, list] = {}
    """Track id → [first PTS, rate, frames so far, bytes, keyframe flag, the parts,
    ADTS headers, configuration] of the group the track's next frame may join."""
    leads: list[int] = []
    for i, frame in enumerate(frames):
        if psi_before and i in psi_before:
            open_.clear()  # a segment starts here: no PES reaches across
        track = frame.track
        entry = tracks.get(id(track))
        if entry is None:
            if open_:
                open_.pop(track.id, None)
            continue
        tid = track.id
        pts = frame.pts
        data = frame.data
        n = len(data)
        size = n + 7
        group = open_.get(tid)
        if group is not None:
            first, group_rate, count, total, key, parts, cache, config = group
            if (
                total + size <= limit
                and frame.dts == pts
                and frame.keyframe == key
                and abs(first + count * AAC_FRAME_TICKS // group_rate - pts)
                <= AUDIO_GROUP_TOLERANCE
            ):
                adts = cache.get(n)
                if adts is None:
                    adts = cache[n] = adts_header(config, n)
                parts += (adts, data)
                group[2] = count + 1
                group[3] = total + size
                plan[i] = MEMBER
                continue
        rate, cache, config = entry
        if frame.dts != pts or size > limit or not rate:
            open_.pop(tid, None)
            continue
        adts = cache.get(n)
        if adts is None:
            adts = cache[n] = adts_header(config, n)
        group = open_[tid] = [pts, rate, 1, size, frame.keyframe, [b"", adts, data], cache, config]
        plan[i] = group
        leads.append(i)
    for i in leads:
        group = plan[i]
        # alone after all: the ordinary path; else the parts and their size
        plan[i] = None if group[2] == 1 else (group[5], group[3])
    return plan
