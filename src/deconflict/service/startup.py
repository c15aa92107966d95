"""The hotline's part of a start-up snapshot (store/startup.py), and when to write one.

Beside the engine, the hotline keeps what it folds from the whole log
(credentials, notifications, references, the sharing of every declaration
ever made, agreements, probes, idempotent submits). A cold start replays
every event for it: at 1M declarations, about a quarter of the start-up. The
snapshot keeps that state, pickled, as its ``hotline`` section, at the same
event as the engine's; the hotline then replays only the events after it.

Pickle is safe here only because of where the bytes come from: the section
is inside the snapshot's body, whose digest the log's signing key signs, and
the snapshot is ignored unless the program reading it is the very program
that wrote it (store/startup.py: ``code``), so the classes unpickled are the
ones pickled. A snapshot that fails those checks is refused before this
module sees it.
"""

from __future__ import annotations

import logging
import pickle
import sys
from typing import TYPE_CHECKING, Any

from deconflict.errors import StoreError
from deconflict.service import heap
from deconflict.store import startup

if TYPE_CHECKING:
    from deconflict.service.hotline import Hotline
    from deconflict.service.hotline.core import Core

log = logging.getLogger(__name__)

SECTION = "hotline"
#: What Hotline._absorb (and measure_life.absorb) fold from the log. Whatever else
#: the hotline holds starts empty at every start, snapshot or not.
FIELDS = ("keyring", "inbox", "refs", "settings", "proposals", "versions", "measure_history", "accepted",
          "_idempotent", "_accepted_seq", "_notified", "_sharing", "_withdrawn_sharing", "probes", "head")
#: A start from a snapshot whose tail is longer than this (or than a tenth of the
#: declarations in force) writes a new one.
MAX_TAIL = 20_000


def section(hotline: Hotline) -> bytes:
    """The hotline's folded state, pickled, with repeated values shared: one owner
    string, frozenset and sharing tuple per distinct value, not one per declaration."""
    state: dict[str, Any] = {f: getattr(hotline, f) for f in FIELDS}
    shared: dict[Any, Any] = {}

    def one(value: Any) -> Any:
        return shared.setdefault(value, value)

    # Whole tuples shared too (immutable): most declarations have one of a few
    # (owner, shared with all, shared with) values, 64 bytes each otherwise.
    state["_sharing"] = {k: one((sys.intern(o), a, one(w))) for k, (o, a, w) in hotline._sharing.items()}
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def resume(hotline: Core) -> int:
    """Take the hotline's state from the snapshot the service started from; returns
    the event it stands at (0 without one: replay the whole log)."""
    service = hotline.service
    # Taken once: the bytes are not kept beside the objects they became.
    blob = service.snapshot_sections.pop(SECTION, None)
    if blob is None or service.snapshot_seq is None:
        return 0
    with heap.paused():
        state = pickle.loads(blob)  # signed, and written by this very program (see above)
    del blob
    if state.get("head") != service.snapshot_seq:
        return 0
    for name in FIELDS:
        setattr(hotline, name, state[name])
    hotline.deadlines.settings = hotline.settings
    return int(state["head"])


def refresh(hotline: Hotline, *, min_declarations: int = startup.MIN_DECLARATIONS) -> int | None:
    """Write a new snapshot (the engine's and this hotline's state now) when the
    store holds many declarations and the one started from is missing or far
    behind; returns its seq, or None when none was written. Needs the log's
    signing key; the state is copied under the hotline's lock, then written
    without it (and without the store's writer lock)."""
    service = hotline.service
    n = len(service.engine)
    if n < min_declarations:
        return None
    if service.snapshot_seq is not None and service.seq - service.snapshot_seq <= max(MAX_TAIL, n // 10):
        return None
    # Another process of the store may have just written one (workers start together).
    buf = service.store.startup_buffer()
    seq = startup.peek_seq(buf) if buf is not None else None
    del buf
    if seq is not None and service.seq - seq <= max(MAX_TAIL, n // 10):
        return None
    try:
        # The hotline's lock for the copy of its state and the engine's at one
        # event, not for the encoding (Deconflict.write_snapshot): submits here and
        # on other workers go on meanwhile.
        return service.write_snapshot(lambda: {SECTION: section(hotline)}, lock=hotline._lock)
    except StoreError as exc:
        # No signing key on this host (a PostgreSQL reader), or no room: the next
        # start is a cold one, not this one a failure.
        log.warning("no start-up snapshot written: %s", exc)
        return None
