"""One block of memory per live HLS segment, so a segment is sent as one piece.

The muxer lays out each batch of frames in packet rows it asks of an arena
(:class:`~headwater.media.mpegts.packet_block.PacketArena`). Without one, every batch is
a fresh array and a segment is the three to six pieces of the batches it was cut from;
uvicorn writes each piece as its own ASGI message, and once the first has filled the
loopback socket it waits for the transport to drain before each next one (an event-loop
wake-up and a smaller write per piece: 0 to 40 µs of server CPU more per 1 MB segment
request than one piece, measured in the seventh sitting). Joining the pieces costs as
much as it saves. What pays more is the memory: :class:`BlockPool` reuses a window's
blocks, where fresh arrays were new pages faulted in for every batch.

:class:`SegmentBlock` hands out the rows of one array in order, so the batches of a
segment laid out in one lie end to end: the segment's bytes are then one ``memoryview``
of the block (:meth:`SegmentBlock.laid_out`). The live window gives each segment a block
when it opens, sized from the bitrate of the last one (a quarter more, plus
:data:`SLACK_ROWS`), and copies into it the segment's first bytes
(:meth:`SegmentBlock.adopt`: the frames from its keyframe to the end of the batch that
opened it, laid out in the last segment's block); the segment's later batches are laid
out after them. The batches are those the muxer gets without blocks, so the bytes are
too. A batch that does not fit gets an array of its own, as with any arena; that segment
is then kept in pieces, as it was before.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from headwater.media.mpegts.packet_block import PacketArena
from headwater.media.segmenter import Step

PACKET = 188
"""Bytes in a transport packet (a row of the block)."""
SLACK_ROWS = 64
"""Rows a block holds beyond its estimate (12 kB: a keyframe's PSI and a little more)."""
GRANULE = 512
"""Blocks hold a multiple of this many rows (96 kB), so that a stream's blocks come in a
few sizes and one that is free fits the next segment (:class:`BlockPool`)."""
SPARE = 2
"""Free blocks a :class:`BlockPool` keeps for its next segments."""


class SegmentBlock(PacketArena):
    """Packet rows for one segment, handed out in order from one array (see the module
    docstring). Its payload joins use the arena's shared scratch buffer
    (:meth:`PacketArena.join`). Never reset: a new segment gets a new block, and a
    block's memory goes when the last view of its segment does.

    :param rows: packets the block holds.
    """

    __slots__ = ("block", "spilled", "used")

    def __init__(self, rows: int) -> None:
        # the parent's block is not made: this class hands out rows of its own
        self.block = np.empty((max(rows, 1), PACKET), dtype=np.uint8)
        self.used = 0
        """Rows handed out from the block."""
        self.spilled = False
        """A batch did not fit and got an array of its own."""

    @property
    def capacity(self) -> int:
        """Rows in the block."""
        return len(self.block)

    def rows(self, count: int) -> Any:
        """The next ``count`` rows of the block (a fresh array when they do not fit)."""
        used = self.used
        if used + count > len(self.block):
            self.spilled = True
            return np.empty((count, PACKET), dtype=np.uint8)
        self.used = used + count
        return self.block[used : used + count]

    def reset(self) -> None:
        """Every row is free again (its segment left the window and nothing reads it: see
        :meth:`in_use`)."""
        self.used = 0
        self.spilled = False

    def in_use(self) -> bool:
        """Something other than this object holds a view of the block: a segment still
        listed, or its bytes still queued for a player's socket."""
        return sys.getrefcount(self.block) > 2  # this object's reference and the call's

    def adopt(self, step: Step) -> Step:
        """``step`` with its bytes copied into the block's next rows, when they are not
        there: the first bytes of a segment that opened in the last block's batch, or a
        batch of a few frames (written packet by packet). As it is when they do not fit
        (the segment is then kept in pieces)."""
        size = len(step.data)
        rows = size // PACKET
        if not size or self.spilled:
            return step
        if size % PACKET or self.used + rows > len(self.block):
            self.spilled = True
            return step
        start = self.used * PACKET
        self.used += rows
        flat = self.block.reshape(-1)
        flat[start : start + size] = np.frombuffer(step.data, dtype=np.uint8)
        return step._replace(data=memoryview(flat)[start : start + size])

    def laid_out(self, size: int, parts: Sequence[bytes | memoryview]) -> memoryview | None:
        """The segment of ``size`` bytes in ``parts`` as one view of the block, when every
        part of it lies there (laid out or adopted in order from the first row, so it is
        the first ``size`` bytes; what follows is the next segment's start, copied away);
        else None (keep the pieces)."""
        block = self.block
        if self.spilled or self.used * PACKET < size:
            return None
        for part in parts:
            owner = part.obj if isinstance(part, memoryview) else None
            if owner is None or (owner is not block and getattr(owner, "base", None) is not block):
                return None
        return memoryview(block.reshape(-1))[:size]


def block_rows(size: int, duration: float, target: float) -> int:
    """Rows for the next segment's block, from the last segment's ``size`` in bytes and
    ``duration`` in seconds: its bitrate over the longer of that duration and ``target``,
    a quarter more and :data:`SLACK_ROWS` (a segment that outgrows it is kept in pieces)."""
    seconds = max(duration, target, 0.001)
    rows = size / max(duration, 0.001) * seconds / PACKET
    return int(rows * 1.25) + SLACK_ROWS


class BlockPool:
    """The blocks of one live window's segments, reused once their segments are gone.

    A fresh block of a megabyte is new pages from the kernel, each faulted in and zeroed
    before the packets are copied into it (about 330 page faults a segment): a window
    takes its next block from the blocks of the segments that left it (:data:`SPARE` of
    them are kept), once no player's request still holds their bytes.
    """

    def __init__(self) -> None:
        self._held: deque[tuple[int, SegmentBlock]] = deque()
        """(sequence number, block) of each closed segment laid out in a block, in order."""
        self._spare: deque[SegmentBlock] = deque()
        """Blocks of segments no longer held, newest last."""

    def take(self, rows: int) -> SegmentBlock:
        """A block of at least ``rows`` rows for a segment that opens: a spare one that is
        free and not more than twice that, or a new one (its rows rounded up to
        :data:`GRANULE`)."""
        rows = -(-rows // GRANULE) * GRANULE
        for block in self._spare:
            if rows <= block.capacity <= 2 * rows and not block.in_use():
                self._spare.remove(block)
                block.reset()
                return block
        return SegmentBlock(rows)

    def hold(self, sequence: int, block: SegmentBlock) -> None:
        """The segment ``sequence`` closed with (some of) its bytes in ``block``."""
        if not self._held or self._held[-1][1] is not block:
            self._held.append((sequence, block))

    def release(self, first: int) -> None:
        """The window now holds segments from ``first`` on: the blocks of older ones are
        spare (the oldest let go past :data:`SPARE`)."""
        held, spare = self._held, self._spare
        while held and held[0][0] < first:
            spare.append(held.popleft()[1])
            if len(spare) > SPARE:
                spare.popleft()
