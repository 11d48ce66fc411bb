"""fMP4 media fragments: ``moof`` + ``mdat`` (ISO/IEC 14496-12 8.8), one per HLS part.

``moof`` holds ``mfhd`` (its sequence number) and one ``traf`` per track with samples:
``tfhd`` (default-base-is-moof, so offsets count from the ``moof``), ``tfdt`` (the decode
time of the track's first sample, version 1: 64 bits) and ``trun`` (version 1: per sample
duration, size, flags and signed composition offset, plus the data offset into ``mdat``).
The ``mdat`` follows with each track's samples in turn. CMAF (ISO/IEC 23000-19) and
LL-HLS (RFC 8216bis 4.4.4.9) make each part such a fragment.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from headwater.media.fmp4.box import box, full_box

TFHD_DEFAULT_BASE_IS_MOOF = 0x020000
TRUN_DATA_OFFSET = 0x000001
TRUN_SAMPLE_DURATION = 0x000100
TRUN_SAMPLE_SIZE = 0x000200
TRUN_SAMPLE_FLAGS = 0x000400
TRUN_COMPOSITION_OFFSET = 0x000800
TRUN_FLAGS = (
    TRUN_DATA_OFFSET
    | TRUN_SAMPLE_DURATION
    | TRUN_SAMPLE_SIZE
    | TRUN_SAMPLE_FLAGS
    | TRUN_COMPOSITION_OFFSET
)
SYNC_SAMPLE = 0x02000000
"""sample_depends_on = 2: decodes on its own (14496-12 8.8.3.1)."""
NON_SYNC_SAMPLE = 0x01010000
"""sample_depends_on = 1 and sample_is_non_sync_sample."""
_SAMPLE = struct.Struct(">IIIi")


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample: its duration and composition offset in the track's timescale."""

    data: bytes
    duration: int
    composition_offset: int = 0
    sync: bool = True


@dataclass(frozen=True, slots=True)
class TrackRun:
    """The samples of one track in one fragment, from decode time ``decode_time``."""

    track_id: int
    decode_time: int
    samples: Sequence[Sample]


def _traf(run: TrackRun, data_offset: int) -> bytes:
    entries = b"".join(
        _SAMPLE.pack(
            s.duration,
            len(s.data),
            SYNC_SAMPLE if s.sync else NON_SYNC_SAMPLE,
            s.composition_offset,
        )
        for s in run.samples
    )
    return box(
        b"traf",
        full_box(b"tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, struct.pack(">I", run.track_id)),
        full_box(b"tfdt", 1, 0, struct.pack(">Q", run.decode_time)),
        full_box(
            b"trun", 1, TRUN_FLAGS, struct.pack(">Ii", len(run.samples), data_offset), entries
        ),
    )


def fragment(sequence: int, runs: Sequence[TrackRun]) -> bytes:
    """``moof`` + ``mdat`` of ``runs`` (tracks without samples are left out).

    :param sequence: the ``mfhd`` sequence number (from 1, increasing fragment by fragment).
    """
    runs = [r for r in runs if r.samples]
    if not runs:
        raise ValueError("a fragment needs at least one sample")
    mfhd = full_box(b"mfhd", 0, 0, struct.pack(">I", sequence))
    # The trafs' sizes do not depend on their data offsets: measure once, then write.
    moof_size = len(box(b"moof", mfhd, *(_traf(r, 0) for r in runs)))
    offset = moof_size + 8  # the mdat header
    trafs = []
    for run in runs:
        trafs.append(_traf(run, offset))
        offset += sum(len(s.data) for s in run.samples)
    moof = box(b"moof", mfhd, *trafs)
    mdat = box(b"mdat", *(s.data for r in runs for s in r.samples))
    return moof + mdat
