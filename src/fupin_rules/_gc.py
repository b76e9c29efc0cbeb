"""Pausing Python's cyclic garbage collector while many acyclic objects are built.

Loading a county builds hundreds of thousands of records, a batch run as many findings, a report
as many rows. None of them form reference cycles, but every object allocated counts towards the
collector's thresholds, and each full collection walks every live object: on a 100,000-household
county that was about 40 % of loading the ledger and half of writing the JSON report (measured;
see docs/benchmarks.md). Memory is unaffected (reference counting frees acyclic objects as
usual); cyclic garbage made during the pause is collected by the next full collection after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; restore the caller's setting after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # what was made during the pause goes to the oldest generation at once (freeze, then
            # unfreeze: two list splices). Left young, the first collection after the pause
            # walked every object made in it: 2 s at the end of a 100,000-household check
            # (measured). Cyclic garbage among them waits for the next full collection.
            # Not when the process keeps objects frozen (gc.freeze(): the HTTP service freezes
            # what it built at start-up, as servers that preload do): unfreeze would release
            # them all into the collected generations, for every request that loads records.
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
