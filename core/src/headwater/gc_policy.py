"""How the ``headwater serve`` process runs Python's cyclic garbage collector.

Almost everything a media server allocates per frame (frame objects, chunk and packet
tuples, bytes views) is freed by reference counting; measured in the server under the RTMP
bench with DVR, the collector found only a few dozen cyclic objects per thousand it scanned.
Its cost comes from two things, and this module removes both once the server is up:

- **The startup heap.** Imports, plugins, pydantic models and the config leave some 100 000
  container objects that live as long as the process; every full collection walks all of
  them again (about 70 ms on the bench machine). :func:`apply` collects once and then
  :func:`gc.freeze` moves the survivors to the permanent generation, which the collector
  never scans.
- **Young collections triggered by live media.** Frames live from arrival until every
  consumer has taken them (a GOP cache, DVR and HLS segment buffers: up to a few seconds),
  longer than the interval between default young collections (700 net allocations), so the
  collector scans them in generation 0, again in generation 1, and promotes them to be
  freed there. A generation-0 threshold of :data:`YOUNG_THRESHOLD` lets most of them die by
  reference count before any scan. Generation 1 and 2 keep their default ratios.

The policy is applied only by the ``serve`` command (not by :class:`headwater.Server`
itself), so embedding the server or running it in tests leaves the host's collector as is.
Cyclic garbage still gets collected, only in larger batches; see docs/benchmark-history.md
("Fifth sitting: gc-tune") for the figures.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("headwater.gc")

YOUNG_THRESHOLD = 20_000
"""Net container allocations between generation-0 collections (CPython's default is 700)."""


def apply() -> int:
    """Collect the startup garbage, freeze what survives, and raise the young threshold.

    Called once the server's listeners are open (every plugin and lazily imported module
    is loaded by then); calling it again freezes whatever has been added since. Returns
    the number of objects now frozen (also logged at debug level).
    """
    collected = gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    frozen = gc.get_freeze_count()
    log.debug(
        "gc: collected %d, froze %d startup objects; thresholds %s",
        collected,
        frozen,
        gc.get_threshold(),
    )
    return frozen
