"""The collector and what a server loads at start.

What a server loads at start (the declarations in force, their shapes) lives
as long as the server: it is collected once, then frozen (:func:`gc.freeze`)
so that full collections never walk it again (over a million objects, those
walks were the slowest checks in the benchmark).

Not done, on purpose: freezing what survives each later full collection. It
took the collector's pauses out of the submit p99 (35-94 ms under load), but
it also froze whatever was in flight at that moment, and a request's cycles
(its exception, frames, futures) then outlived it: 1.9 KB per refused submit
that no collection could reclaim (measured with 12,000 refused submits against
a real server; nothing without the policy). A pause is a latency; a leak ends
the service.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside the block: a bulk load of millions of
    objects (a snapshot's unpickling, its id map) otherwise triggers collections
    over an ever larger heap that find nothing to free."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def freeze_loaded() -> None:
    """Collect once, then keep what is alive now out of every later collection."""
    gc.collect()
    gc.freeze()
