"""The picture as of an instant: the whole replay (``Store.state_as_of``, what
``GET /v1/picture?as_of=`` did on every call) against checkpoints plus a
bounded replay (``service/history.py``), side by side in one process.

Builds a store of ``--events`` events (declarations amended and withdrawn among
notes that change nothing, as tests/service/test_history.py does), then asks
both for the state at ``--instants`` instants spread over the log, alternating
which goes first, for ``--rounds`` rounds; reports medians and the events each
read per call.

Usage: python bench/picture_history.py [--events 50000] [--store sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from deconflict.model import Party, PartyKind
from deconflict.service.history import History
from deconflict.store.documents import decode_declaration, encode_declaration, encode_party
from deconflict.store.events import EventDraft
from deconflict.store.open import open_store

BATCH = 1000


def fire(ident: str, radius: float) -> EventDraft:
    decl = decode_declaration({
        "id": ident, "kind": "fire", "owner": "blue", "target": {"type": "Point", "coordinates": [38.0, 37.0]},
        "effects_radius_m": radius, "window": {"start": "2018-02-07T12:00:00Z", "end": "2018-02-07T13:00:00Z"}})
    return EventDraft("declaration.declared", "blue", ident, encode_declaration(decl))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--instants", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    args = ap.parse_args()
    if args.store == "sqlite":
        where: str | Path = Path(tempfile.mkdtemp(prefix="deconflict-bench-")) / "s.sqlite3"
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.pg import fresh_url
        where = fresh_url()
    store = open_store(where)
    store.append([EventDraft("party.added", "admin", "blue", encode_party(Party("blue", "Blue", PartyKind.OTHER)))])
    marks: list[datetime] = []
    t0 = time.perf_counter()
    for b in range(args.events // BATCH):
        drafts = []
        for i in range(BATCH):
            if i % 20 == 0:
                ident = f"d{(b * 13 + i) % 2000}"
                drafts.append(EventDraft("declaration.withdrawn", "blue", ident, {"id": ident})
                              if b % 4 == 3 and i % 40 == 0 and b > 3 else fire(ident, 100 + b))
            else:
                drafts.append(EventDraft("note.recorded", "blue", "", {"n": b * BATCH + i}))
        try:
            store.append(drafts)
        except Exception:  # a withdrawal of what is not in force: declare instead
            store.append([fire(d.subject, 1.0) if d.type == "declaration.withdrawn" else d for d in drafts])
        time.sleep(0.001)
        marks.append(datetime.now(UTC))
    fill_s = time.perf_counter() - t0
    step = max(1, len(marks) // args.instants)
    instants = marks[step - 1::step][: args.instants]
    history = History(store)
    t0 = time.perf_counter()
    history.at(datetime.now(UTC))  # after the last event: the build alone, no replay
    build_s = time.perf_counter() - t0
    built_reads = history.events_read
    full_ms: list[float] = []
    hist_ms: list[float] = []
    hist_reads: list[int] = []
    for r in range(args.rounds):
        for k, t in enumerate(instants):
            order = ["full", "history"] if (r + k) % 2 == 0 else ["history", "full"]
            for which in order:
                before = history.events_read
                t1 = time.perf_counter()
                state = store.state_as_of(t) if which == "full" else history.at(t).state
                ms = (time.perf_counter() - t1) * 1000
                (full_ms if which == "full" else hist_ms).append(ms)
                if which == "history":
                    hist_reads.append(history.events_read - before)
                assert state.seq > 0
    out = {
        "store": args.store, "events": 1 + len(marks) * BATCH, "fill_s": round(fill_s, 1),
        "history_first_build_s": round(build_s, 2), "history_first_build_events_read": built_reads,
        "checkpoint_spacing": history.spacing,
        "full_replay_median_ms": round(statistics.median(full_ms), 1),
        "history_median_ms": round(statistics.median(hist_ms), 1),
        "ratio_full_over_history": round(statistics.median(full_ms) / statistics.median(hist_ms), 1),
        "history_events_read_max": max(hist_reads),
        "full_replay_events_read_median": "every event up to the instant",
    }
    print(json.dumps(out, indent=1))
    store.close()


if __name__ == "__main__":
    main()
