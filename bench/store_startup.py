"""Start-up of a service process joining a store of N declarations: the time to
open the store and load its engine from the snapshot, SQLite and PostgreSQL side by
side, A and B alternated.

Usage: python bench/store_startup.py [--declarations 100000] [--rounds 3]
           [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--copy]

``--copy`` fills the PostgreSQL store by copying the SQLite store's rows (``COPY``:
the same events, bytes and hashes, and the same state rows; the PostGIS trigger
still fills the geography column), instead of appending 20,000 declarations at a
time through the store (about 6 ms a declaration on a loaded 2-core machine, so a
million took hours). What is measured, the start-up, is the same either way.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from deconflict.model import Party
from deconflict.service.deconflict import Deconflict
from deconflict.store.events import EventDraft, party_added
from deconflict.store.postgres import PostgresStore
from deconflict.store.protocol import Store
from deconflict.store.sqlite import SQLiteStore

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}
CHUNK = 20_000


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


def load_seconds(store: Store) -> float:
    t0 = time.perf_counter()
    service = Deconflict(store)
    elapsed = time.perf_counter() - t0
    service.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--declarations", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--copy", action="store_true", help="fill PostgreSQL by copying the SQLite store's rows")
    ap.add_argument("--postgres-only", action="store_true", help="time only PostgreSQL start-ups (and its vouch)")
    args = ap.parse_args()
    name = f"dcf_bench_startup_{int(time.time())}"
    with psycopg.connect(args.postgres, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    url = args.postgres.rsplit("/", 1)[0] + "/" + name
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "s.sqlite3"
            t0 = time.perf_counter()
            with SQLiteStore(path) as s:
                fill(s, args.declarations)
            fill_sqlite = time.perf_counter() - t0
            t0 = time.perf_counter()
            if args.copy:
                copy_into(path, url)
            else:
                with PostgresStore(url) as p:
                    fill(p, args.declarations)
            fill_pg = time.perf_counter() - t0
            times: dict[str, list[float]] = {"postgresql": [], "postgresql_vouch": []}
            if not args.postgres_only:
                times["sqlite"] = []
            for _ in range(args.rounds):
                if not args.postgres_only:
                    times["sqlite"].append(load_seconds(SQLiteStore(path)))
                times["postgresql"].append(load_seconds(PostgresStore(url)))
                with PostgresStore(url) as p:  # the share of it spent checking the chain
                    t0 = time.perf_counter()
                    p.vouch()
                    times["postgresql_vouch"].append(time.perf_counter() - t0)
            out = {"declarations": args.declarations, "copy": args.copy, "fill_s": {"sqlite": round(fill_sqlite, 1),
                                                                  "postgresql": round(fill_pg, 1)},
                   "startup_s_median": {k: round(statistics.median(v), 2) for k, v in times.items()},
                   "startup_s": {k: [round(x, 2) for x in v] for k, v in times.items()}}
            print(json.dumps(out))
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
