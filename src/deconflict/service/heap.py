"""Short pauses from Python's cyclic garbage collector in a long-running server.

A full (generation 2) collection walks every container object that is not
frozen, and stops every request while it does: under load its pauses grew
with the accepted state (35, 63, 80, 87 then 94 ms over six seconds of
submits; `bench/http_load.py`) and were the whole of the server's p99.

Most of what a server holds is long-lived and acyclic: the declarations in
force, their shapes, the idempotency records. Freezing what survived a full
collection (:func:`gc.freeze`) moves it out of the collector's sight, so the
next full collection walks only what was made since. Frozen objects are still
freed by reference counting when they are dropped; what freezing gives up is
reclaiming *cycles* among frozen objects, which a full collection had just
shown to be alive (a cycle that was in flight at that moment, a request's
exception and its frames, say, can outlive its request). :func:`reclaim`
unfreezes and collects everything, for a quiet moment.
"""

from __future__ import annotations

import gc
from typing import Any


def _after_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        # The collection has finished (callbacks run after it): what is left
        # in the young generations is exactly what it found reachable.
        gc.freeze()


def keep_pauses_short() -> None:
    """Freeze what is loaded now, and whatever survives each full collection."""
    gc.collect()
    gc.freeze()
    if _after_collection not in gc.callbacks:
        gc.callbacks.append(_after_collection)


def reclaim() -> int:
    """Unfreeze and collect everything (one long pause), then freeze the survivors.
    Returns the number of unreachable objects found."""
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    return found


def frozen() -> int:
    """How many objects are frozen (out of the collector's sight)."""
    return gc.get_freeze_count()
