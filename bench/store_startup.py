"""Start-up of a service process joining a store of N declarations: time to ready
and resident memory, SQLite and PostgreSQL, the code before (``--before``, a
source tree such as main's) and this one side by side, alternated, in fresh
processes.

Usage: python bench/store_startup.py [--declarations 100000] [--rounds 3]
           [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
           [--before /tmp/main-src] [--json out.json]

"Ready" is what ``deconflict serve`` does before it answers: ``Deconflict(store)``
(vouching for the log, loading the engine) and ``Hotline(service)`` (folding the
log's notifications, references, credentials...). This code starts from the
store's snapshot (store/startup.py), which is written once, untimed, by a
process that started cold (``prepare``, timed apart); the code before has none.

Memory is the process's resident set after ready (VmRSS, anonymous and file
pages apart) minus the same process's before it opened the store (imports
included), per declaration. Mapped snapshot pages a process read are counted
while it holds them (the start-up drops them: store/startup.py ``release``).

The PostgreSQL store is filled by copying the SQLite store's rows (``COPY``:
the same events, bytes and hashes and the same state rows; not the Merkle
tables, so its log has no signed checkpoint), then cloned (``CREATE DATABASE
... TEMPLATE``) so that the code before, which does not know this code's schema
migration, opens a database this code never migrated.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from deconflict.model import Party
from deconflict.store.events import EventDraft, party_added
from deconflict.store.postgres import PostgresStore
from deconflict.store.protocol import Store
from deconflict.store.sqlite import SQLiteStore

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}
CHUNK = 20_000
SRC = Path(__file__).resolve().parent.parent / "src"

#: Run in a fresh interpreter: open the store as serve does, print what it took.
CHILD = r"""
import json, sys, time
def status():
    out = {}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile"):
            out[k] = int(v.split()[0]) * 1024
    return out
from deconflict.store.open import open_store
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
spec, mode = sys.argv[1], sys.argv[2]
before = status()
t0, c0 = time.perf_counter(), time.process_time()
service = Deconflict(open_store(spec))
t1 = time.perf_counter()
hotline = Hotline(service)
ready, cpu = time.perf_counter() - t0, time.process_time() - c0
after = status()
out = {"ready_s": ready, "cpu_s": cpu, "deconflict_s": t1 - t0, "hotline_s": ready - (t1 - t0),
       "n": len(service.engine), "snapshot": getattr(service, "snapshot_seq", None),
       "rss": after["VmRSS"], "rss_delta": after["VmRSS"] - before["VmRSS"],
       "anon_delta": after["RssAnon"] - before["RssAnon"], "file": after["RssFile"]}
if mode == "prepare":
    from deconflict.service import startup
    t2 = time.perf_counter()
    service.store.check_signing()
    out["snapshot_written"] = service.write_snapshot(lambda: {"hotline": startup.section(hotline)})
    out["write_s"] = time.perf_counter() - t2
print(json.dumps(out))
"""


def site(i: int) -> dict[str, Any]:
    return {"kind": "site", "id": f"s{i}", "owner": "p1", "category": "forces", "protection_m": 200,
            "geometry": {"type": "Point", "coordinates": [30.0 + (i % 1000) * 0.01, 10.0 + (i // 1000) * 0.01]},
            "window": WINDOW, "share_with": "all"}


def fill(store: Store, n: int) -> None:
    store.append([party_added("admin", Party("p1", "p1"))])
    for first in range(0, n, CHUNK):
        store.append([EventDraft("declaration.declared", "p1", f"s{i}", site(i))
                      for i in range(first, min(n, first + CHUNK))])


def copy_into(path: Path, url: str) -> None:
    """The SQLite store's log and state rows into the (new, migrated) PostgreSQL store."""
    import sqlite3

    PostgresStore(url).close()  # creates the tables
    src = sqlite3.connect(path)
    cols = {"events": "seq, recorded_at, type, actor, subject, payload, prev_hash, hash",
            "parties": "id, name, kind, seq, doc",
            "measures": "id, kind, owner, window_start, window_end, seq, doc",
            "declarations": "id, kind, owner, window_start, window_end, seq, doc"}
    with psycopg.connect(url) as db:
        for table, columns in cols.items():
            with db.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in src.execute(f"SELECT {columns} FROM {table} ORDER BY 1"):
                    copy.write_row(row)
        seq, at, digest = src.execute("SELECT seq, recorded_at, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        db.execute("UPDATE head SET seq = %s, recorded_at = %s, hash = %s WHERE id = 1", (seq, at, digest))
        margins = src.execute("SELECT value FROM meta WHERE key = 'margins'").fetchone()
        if margins is not None:
            db.execute("INSERT INTO meta (key, value) VALUES ('margins', %s)", (margins[0],))
    src.close()


def child(src: Path, spec: str, mode: str, env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1", **(env_extra or {})}
    done = subprocess.run([sys.executable, "-c", CHILD, spec, mode], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode:
        raise SystemExit(f"{mode} on {spec} failed:\n{done.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def load_avg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--declarations", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--before", type=Path, help="the src folder of the code to compare with (e.g. main's)")
    ap.add_argument("--sqlite", type=Path, help="an SQLite store of N sites to use (filled if absent)")
    ap.add_argument("--stores", default="sqlite,postgresql")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--prepared", default="", help="stores whose snapshot is already written (e.g. sqlite)")
    args = ap.parse_args()
    stores = args.stores.split(",")
    stamp = int(time.time())
    names = {"after": f"dcf_bench_startup_{stamp}", "before": f"dcf_bench_startup_{stamp}_before"}
    base = args.postgres.rsplit("/", 1)[0]
    urls = {k: f"{base}/{v}" for k, v in names.items()}
    out: dict[str, Any] = {"declarations": args.declarations, "load_start": load_avg(), "prepare": {},
                           "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = args.sqlite or Path(tmp) / "s.sqlite3"
        if not path.exists():
            t0 = time.perf_counter()
            with SQLiteStore(path) as s:
                fill(s, args.declarations)
            out["fill_sqlite_s"] = round(time.perf_counter() - t0, 1)
        specs = {"sqlite": {"before": str(path), "after": str(path)}}
        try:
            if "postgresql" in stores:
                with psycopg.connect(args.postgres, autocommit=True) as db:
                    db.execute(f'CREATE DATABASE "{names["after"]}"')
                t0 = time.perf_counter()
                copy_into(path, urls["after"])
                with psycopg.connect(args.postgres, autocommit=True) as db:
                    db.execute(f'CREATE DATABASE "{names["before"]}" TEMPLATE "{names["after"]}"')
                with psycopg.connect(urls["before"], autocommit=True) as db:
                    # As the code before left it: without this code's migration.
                    db.execute("DROP TABLE startup_snapshot")
                    db.execute("DELETE FROM schema_migrations WHERE version = 5")
                out["fill_postgresql_s"] = round(time.perf_counter() - t0, 1)
                specs["postgresql"] = urls
            keys = {"DECONFLICT_LOG_KEYS": str(Path(tmp) / "pg-keys")}
            for store in stores:
                if store not in args.prepared.split(","):
                    out["prepare"][store] = child(SRC, specs[store]["after"], "prepare", keys)
                    print("prepared", store, json.dumps(out["prepare"][store]), flush=True)
            for _ in range(args.rounds):
                for store in stores:
                    for side in ("before", "after"):
                        if side == "before" and args.before is None:
                            continue
                        src = args.before if side == "before" else SRC
                        assert src is not None
                        r = child(src, specs[store][side], "ready", keys)
                        out["runs"].setdefault(f"{store}/{side}", []).append(r)
                        print(store, side, json.dumps(r), load_avg(), flush=True)
        finally:
            if "postgresql" in stores:
                with psycopg.connect(args.postgres, autocommit=True) as db:
                    for name in names.values():
                        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    n = args.declarations
    out["load_end"] = load_avg()
    out["median"] = {k: {"ready_s": round(statistics.median(r["ready_s"] for r in v), 2),
                         "cpu_s": round(statistics.median(r["cpu_s"] for r in v), 2),
                         "rss_delta_B_per_decl": round(statistics.median(r["rss_delta"] for r in v) / n),
                         "rss_B_per_decl": round(statistics.median(r["rss"] for r in v) / n),
                         "anon_delta_B_per_decl": round(statistics.median(r["anon_delta"] for r in v) / n)}
                     for k, v in out["runs"].items()}
    print(json.dumps(out["median"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
