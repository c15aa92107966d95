"""CPU per submit through the hotline's committer, in-process, with the Merkle log
(tree, signed checkpoint, published head, receipts) and without it, interleaved
batch by batch in one process.

What bench/http_load.py measures, minus HTTP, the event loop and the load
generator: on a shared machine their CPU and scheduling swamp a difference of a
few per cent, and the log's work is all in the committer (plus the answer's
bytes, encoded here with orjson as the server does). One process holds two
services on two SQLite stores, one of them without the log (the subclass
``NoLog`` below does to itself what bench/nolog/sitecustomize.py does to the
store class), and submits to each in turn, batch by batch, the order swapped
every time: both sides run under the same load, a few milliseconds apart.
Each batch of ``--batch`` spread submits (bench/http_load.py: spread_activity)
is queued while the committer is held, so it is one batch, one append and one
fsync, as the server's group commit makes them under load.

Usage: python bench/submit_cost.py [--submits 2000] [--batch 1 4 12] [--rounds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WITH = str(ROOT / "src")

CHILD = r"""
import gc, json, os, sys, tempfile, threading, time
from pathlib import Path
import orjson
sys.path.insert(0, sys.argv[5])
from http_load import spread_activity
from deconflict.model.party import Party, PartyKind
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store import tree
from deconflict.store.documents import decode_declaration
from deconflict.store.sqlite import SQLiteStore


class NoLog(SQLiteStore):
    # What bench/nolog/sitecustomize.py does to the class, to this subclass only.
    def _open_tree(self, db):
        for statement in tree.SCHEMA:
            db.execute(statement)

    def _grow_tree(self, db, events, at):
        return None

    def receipts(self, seqs):
        return {}


n, batch, warm, rounds = (int(x) for x in sys.argv[1:5])


class Side:
    def __init__(self, cls):
        self.store = cls(Path(tempfile.mkdtemp()) / "s.db")
        self.service = Deconflict(self.store)
        self.hotline = Hotline(self.service)
        self.who = []
        for p in ("p1", "p2", "p3", "p4"):
            self.service.add_party(Party(p, p, PartyKind.ARMED_FORCE))
            _cred, token = self.hotline.issue_credential(None, p, "planner", Role.PLANNER)
            self.who.append(self.hotline.authenticate(token))
        self.cpu = self.wall = 0.0
        self.allocated = 0
        self.sizes = []

    def batch(self, first, k, timed):
        done = threading.Semaphore(0)

        def on_done(item):
            assert item.error is None, item.error
            self.sizes.append(len(orjson.dumps(item.result[1])))  # the answer's body, as the server writes it
            done.release()

        a0 = gc.get_count()[0]
        c0, w0 = time.process_time(), time.perf_counter()
        with self.hotline._lock:  # the committer waits: the group is one batch
            for i in range(first, first + k):
                w = self.who[i % 4]
                act = decode_declaration(spread_activity(i), "activity", owner=w.party, default_id=f"s{i}")
                self.hotline.enqueue(w, act, on_done, parts=self.service.engine.prebuild(act))
        for _ in range(k):
            done.acquire()
        if timed:
            self.cpu += time.process_time() - c0
            self.wall += time.perf_counter() - w0
            # Container objects made less those freed (the collector's count): what drives its young collections.
            self.allocated += gc.get_count()[0] - a0


sides = {"with": Side(SQLiteStore), "without": Side(NoLog)}
for first in range(1_000_000, 1_000_000 + warm, batch):
    for side in sides.values():
        side.batch(first, batch, False)
# The collector is left out of the timed batches: a full collection walks both
# sides' objects (tens of ms) and lands on whichever side triggers it. Its young
# collections, which the log's receipts (small dicts) add to, are counted apart.
gc.collect()
gc.freeze()
out = []
for r in range(rounds):
    for side in sides.values():
        side.cpu = side.wall = 0.0
        side.allocated = 0
        side.sizes.clear()
    gc.collect()
    gc.disable()
    base = r * n
    for j, first in enumerate(range(base, base + n, batch)):
        # Batch by batch, the order swapped each time: both sides see the same machine.
        order = ("with", "without") if j % 2 == 0 else ("without", "with")
        for name in order:
            sides[name].batch(first, batch, True)
    gc.enable()
    out.append({name: {"cpu_us": s.cpu / n * 1e6, "wall_us": s.wall / n * 1e6,
                       "answer_bytes": sum(s.sizes) / len(s.sizes),
                       "allocated_per_submit": s.allocated / n} for name, s in sides.items()})
for side in sides.values():
    side.hotline.stop_committer()
    side.store.close()
print(json.dumps(out))
"""


def run(n: int, batch: int, warm: int, rounds: int) -> list[dict[str, dict[str, float]]]:
    env = dict(os.environ, PYTHONPATH=WITH)
    res = subprocess.run([sys.executable, "-c", CHILD, str(n), str(batch), str(warm), str(rounds),
                          str(ROOT / "bench")], capture_output=True, text=True, env=env, check=False)
    if res.returncode:
        raise SystemExit(res.stderr)
    return list(json.loads(res.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--submits", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--batch", type=int, nargs="*", default=[1, 4, 12])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out: dict[str, Any] = {"load_start": os.getloadavg(), "rows": []}
    for batch in args.batch:
        rounds = run(args.submits, batch, args.warmup, args.rounds)
        row: dict[str, Any] = {"batch": batch}
        for key in ("cpu_us", "wall_us", "answer_bytes", "allocated_per_submit"):
            w = statistics.median(r["with"][key] for r in rounds)
            wo = statistics.median(r["without"][key] for r in rounds)
            row[key] = {"with": round(w, 1), "without": round(wo, 1), "extra": round(w - wo, 1)}
        # Each round's ratio, then their median: both sides of a round ran interleaved.
        row["cpu_extra_pct"] = round(statistics.median(
            (r["with"]["cpu_us"] / r["without"]["cpu_us"] - 1) * 100 for r in rounds), 1)
        row["rounds"] = rounds
        row["load"] = os.getloadavg()
        out["rows"].append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "rounds"}), flush=True)
    out["load_end"] = os.getloadavg()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
