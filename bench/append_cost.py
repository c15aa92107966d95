"""CPU of the store's append and receipts, with the Merkle log (tree, a signed
checkpoint per append, receipts) against the same tree without it
(bench/nolog/sitecustomize.py), alternated side by side in child processes, on
SQLite and on PostgreSQL.

Each round appends ``--appends`` batches of ``--batch`` events (a batch of
submits is one append under load: the committer groups them) and asks for
the batch's receipts, as the service does. For PostgreSQL the CPU of the
database server is not in the figure (it is another process): see its
wall-clock column.

Usage: python bench/append_cost.py [--appends 500] [--batch 1 9] [--rounds 3]
                                   [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
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
WITHOUT = f"{ROOT / 'bench' / 'nolog'}{os.pathsep}{ROOT / 'src'}"

CHILD = r"""
import json, os, sys, tempfile, time
from pathlib import Path
from deconflict.store.events import EventDraft
n, batch, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
folder = Path(tempfile.mkdtemp())
if url:
    import psycopg
    from deconflict.store.postgres import PostgresStore
    name = f"dcf_i12_cost_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    st = PostgresStore(url.rsplit("/", 1)[0] + "/" + name, keys=folder / "log.keys")
else:
    from deconflict.store.sqlite import SQLiteStore
    st = SQLiteStore(folder / "s.db")
try:
    for i in range(50):
        st.append([EventDraft("note.added", "admin", "", {"text": f"warm {i}.{j}"}) for j in range(batch)])
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(n):
        made = st.append([EventDraft("note.added", "admin", "", {"text": f"event {i}.{j}"}) for j in range(batch)])
        st.receipts([e.seq for e in made])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(json.dumps({"cpu_us_per_event": cpu / (n * batch) * 1e6, "wall_us_per_event": wall / (n * batch) * 1e6}))
finally:
    st.close()
    if url:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
"""


def run(path: str, n: int, batch: int, url: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=path)
    if url:
        env["DECONFLICT_BENCH_POSTGRES"] = "1"  # bench/nolog patches the PostgreSQL store too
    res = subprocess.run([sys.executable, "-c", CHILD, str(n), str(batch), url], capture_output=True, text=True,
                         env=env, check=True)
    return dict(json.loads(res.stdout))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--appends", type=int, default=500)
    ap.add_argument("--batch", type=int, nargs="*", default=[1, 9])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgres", metavar="ADMIN_URL", default="",
                    help="also measure the PostgreSQL store on a database made (and dropped) on this cluster")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    stores = [("sqlite", "")] + ([("postgresql", args.postgres)] if args.postgres else [])
    out: dict[str, Any] = {"load_start": os.getloadavg(), "rows": []}
    for store, url in stores:
        for batch in args.batch:
            rounds: dict[str, list[dict[str, float]]] = {"with": [], "without": []}
            for _ in range(args.rounds):  # alternated, so the machine's load falls on both alike
                rounds["with"].append(run(WITH, args.appends, batch, url))
                rounds["without"].append(run(WITHOUT, args.appends, batch, url))
            row: dict[str, Any] = {"store": store, "batch": batch}
            for key in ("cpu_us_per_event", "wall_us_per_event"):
                w = statistics.median(r[key] for r in rounds["with"])
                wo = statistics.median(r[key] for r in rounds["without"])
                row[key] = {"with": round(w, 1), "without": round(wo, 1), "extra": round(w - wo, 1)}
            row["rounds"] = rounds
            out["rows"].append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "rounds"}), flush=True)
    out["load_end"] = os.getloadavg()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
