"""Runs of continuation packets laid out at once (ISO/IEC 13818-1 2.4.3.2), with numpy.

The middle of a PES split into transport packets is a run of packets that differ only in
their continuity counter: each is the 4-byte header ``47 PP PP 1c`` (no PUSI, payload only,
counter ``c``) followed by the next 184 bytes of the PES. :class:`PacketBlock` writes such
a run in a handful of array operations: the payload is copied as a ``(count, 184)`` block
into a ``(count, 188)`` array, and the header column is the PID's header word plus a
precomputed counter sequence. A Python loop costs about half a microsecond per packet; this
costs a few microseconds per run whatever its length, so the writer uses it for long PES
(video frames) and keeps its loop for short ones.

:func:`interleave` goes further for a batch of frames: the writer hands it every packet's
header and every packet's remaining 184 bytes, each as one buffer, and it lays out all the
packets of the batch at once (a ``<u4`` header column and a ``(rows, 184)`` block).

:class:`PacketArena` lets a consumer that keeps packets only until it hands them on (the
DVR recorder, until its next write to disk) reuse one block of memory for every batch,
instead of a fresh array each time: a fresh array of some hundred kilobytes is new pages
from the kernel, each faulted in and zeroed before the packets are copied into it.

numpy is optional for the core (the plugins that mux depend on it); without it
:data:`AVAILABLE` is False and the writer's loop does all the work.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from typing import Any

try:
    import numpy as np
except ImportError:  # pragma: no cover - exercised only where numpy is absent
    np = None  # type: ignore[assignment]

AVAILABLE = np is not None
"""True when numpy is importable (the block path can be used)."""

MIN_ROWS = 64
"""Rows a :class:`PacketArena` keeps beyond what it needs (and the slack before it shrinks)."""

SCRATCH_SLACK = 1 << 20
"""Bytes the shared join buffer may hold beyond four times a batch before it is let go."""

_local = threading.local()
"""Each thread's join buffer (:meth:`PacketArena.join`)."""

MAX_RUN = 1 << 16
"""Longest run written in one block (a 12 MB PES); longer runs are cut into blocks."""

_WORD = np.dtype("<u4") if np is not None else None
"""A packet header read as one little-endian 32-bit word."""

_COUNTERS = None
"""``(i & 15) << 24`` for i in 0 .. MAX_RUN + 15, little-endian: the counter byte of a
header word read as ``<u4`` (built on first use, shared by every PID)."""


def _counters():
    global _COUNTERS
    if _COUNTERS is None:
        _COUNTERS = (np.arange(MAX_RUN + 16, dtype="<u4") & 15) << 24
    return _COUNTERS


class PacketBlock:
    """Continuation packets of one PID, ``count`` at a time (see the module docstring)."""

    __slots__ = ("_base",)

    def __init__(self, pid: int) -> None:
        # 47 | PID high bits | PID low byte | 0x10 (payload only, counter 0), as <u4.
        self._base = 0x47 | ((pid >> 8) & 0x1F) << 8 | (pid & 0xFF) << 16 | 0x10 << 24

    def packets(self, payload: memoryview | bytes, cc: int, count: int) -> bytes | memoryview:
        """``count`` packets carrying ``payload`` (``count * 184`` bytes), counters from ``cc``.

        The result is any bytes-like object (``b"".join`` takes it as it is).
        """
        if count > MAX_RUN:
            cut = MAX_RUN * 184
            head = self.packets(payload[:cut], cc, MAX_RUN)
            rest = self.packets(payload[cut:], (cc + MAX_RUN) & 15, count - MAX_RUN)
            return b"".join((head, rest))
        block = np.empty((count, 188), dtype=np.uint8)
        block[:, 4:] = np.frombuffer(payload, dtype=np.uint8, count=count * 184).reshape(count, 184)
        words = block.view("<u4")  # 47 words a row; column 0 is the header
        np.add(_counters()[cc : cc + count], self._base, out=words[:, 0])
        return memoryview(block).cast("B")


class PacketArena:
    """Memory for the packets of many batches, reused: :meth:`rows` hands out the next
    free rows of one array, :meth:`reset` makes all of it free again.

    The owner calls :meth:`reset` only once nothing it was handed is in use any more (the
    DVR recorder: once its bytes are written). A batch that does not fit gets an array of
    its own, and the next :meth:`reset` sizes the arena to what the round used (a quarter
    more); it also shrinks to that when a round used less than half of it, so a burst
    (a recorder that fell behind) does not keep its memory, and a steady stream settles
    on one block.
    """

    __slots__ = ("_block", "_need", "_used")

    def __init__(self, rows: int = 1024) -> None:
        self._block = np.empty((rows, 188), dtype=np.uint8)
        self._used = 0
        self._need = 0
        """Rows asked for since the last reset (what the next round may need)."""

    def join(self, parts: Iterable[bytes | memoryview]) -> memoryview:
        """``b"".join(parts)`` in memory reused from one call to the next (one buffer per
        thread, shared by every arena: a batch's payload lives only until it is laid out).
        The result is valid until the next call and must be let go of before it."""
        scratch = getattr(_local, "scratch", None)
        if scratch is None:
            scratch = _local.scratch = io.BytesIO()
        scratch.seek(0)
        try:
            scratch.writelines(parts)
        except BufferError:  # the last result is still held somewhere: start afresh
            scratch = _local.scratch = io.BytesIO()
            scratch.writelines(parts)
        size = scratch.tell()
        view = scratch.getbuffer()
        if view.nbytes > 4 * size + SCRATCH_SLACK:  # a burst's payload: let its memory go
            view.release()
            _local.scratch = None
            return memoryview(scratch.getvalue()[:size])
        return view[:size]

    @property
    def capacity(self) -> int:
        """Rows in the arena."""
        return len(self._block)

    def rows(self, count: int) -> Any:
        """``count`` free packet rows, a ``(count, 188)`` uint8 array (a fresh one when the
        arena is full)."""
        used = self._used
        self._need += count
        if used + count > len(self._block):
            return np.empty((count, 188), dtype=np.uint8)
        self._used = used + count
        return self._block[used : used + count]

    def reset(self) -> None:
        """Everything handed out is free again (its bytes are no longer read)."""
        need = self._need
        if need > len(self._block) or 4 * need < 2 * len(self._block) - 4 * MIN_ROWS:
            self._block = np.empty((need + need // 4 + MIN_ROWS, 188), dtype=np.uint8)
        self._used = 0
        self._need = 0


def interleave(
    heads: bytes, body: bytes, rows: int, arena: PacketArena | None = None
) -> memoryview:
    """``rows`` whole packets from their headers and the rest of each packet.

    ``heads`` holds the ``rows`` 4-byte packet headers, ``body`` the ``rows * 184`` bytes
    that follow each (adaptation field and payload), packet after packet: two strided
    copies lay them out, whatever the number of packets and PIDs. The result is any
    bytes-like object of ``rows * 188`` bytes (in ``arena`` when one is given).
    """
    packets = np.empty((rows, 188), dtype=np.uint8) if arena is None else arena.rows(rows)
    # the block first: its copy streams through memory that is cold (reused once a tick),
    # so the header words after it land in cache (the other way round, each 4-byte store
    # waits for its own line: a quarter slower on 60 streams' blocks)
    packets[:, 4:] = np.frombuffer(body, dtype=np.uint8).reshape(rows, 184)
    packets.view(_WORD)[:, 0] = np.frombuffer(heads, dtype=_WORD)  # a header word a packet
    return memoryview(packets).cast("B")
