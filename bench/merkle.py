"""Merkle log benchmark: proof sizes and times at 1M and 10M leaves, and the time
to verify a bundle of 1M events.

* **proofs**: an ``events`` table of N hashes and a ``tree_nodes`` table (the
  store's layout, store/tree.py: every second level kept, leaves derived from
  the events' hashes) grown to each size with ``tree.extend`` in chunks, then
  inclusion and consistency proofs for random leaves and sizes, read with the
  store's own code (one query of the tree and one of the events a proof) on
  one connection, and verified.
* **bundle**: a store of N small events appended in batches (each batch one
  append: one checkpoint signed), written as a bundle, then
  ``verify_bundle`` (chain, tree against every signed checkpoint, state).

Usage: python bench/merkle.py [--sizes 1000000 10000000] [--bundle-events 1000000] [--proofs 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from deconflict.store import tree  # noqa: E402
from deconflict.store.bundle import verify_bundle, write_bundle  # noqa: E402
from deconflict.store.events import EventDraft  # noqa: E402
from deconflict.store.merkle import (  # noqa: E402
    verify_consistency,
    verify_inclusion,
)
from deconflict.store.sqlite import SQLiteStore  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def event_hash(i: int) -> str:
    return hashlib.sha256(i.to_bytes(8, "big")).hexdigest()


def proofs(size: int, n_proofs: int, folder: Path, seed: int) -> dict[str, Any]:
    db = sqlite3.connect(folder / f"tree-{size}.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    for s in tree.SCHEMA:
        db.execute(s)
    # The events' hashes only: a proof reads (seq, hash) by primary key, as in a store.
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL)")
    t0 = time.perf_counter()
    chunk = 100_000
    for start in range(0, size, chunk):
        hashes = [event_hash(i) for i in range(start, min(size, start + chunk))]
        db.execute("BEGIN")
        db.executemany("INSERT INTO events (seq, hash) VALUES (?, ?)",
                       ((start + k + 1, h) for k, h in enumerate(hashes)))
        tree.extend(db, start, [tree.event_leaf(h) for h in hashes])
        db.execute("COMMIT")
    build_s = time.perf_counter() - t0
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = tree.root(db, size)
    rng = random.Random(seed)
    inc_t, inc_v, inc_len, con_t, con_v, con_len = [], [], [], [], [], []
    for _ in range(n_proofs):
        i = rng.randrange(size)
        leaf = tree.event_leaf(event_hash(i))
        t = time.perf_counter()
        p = tree.inclusion(db, i, size)
        inc_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        verify_inclusion(i, size, leaf, p, root)
        inc_v.append(time.perf_counter() - t)
        inc_len.append(len(p))
        m = rng.randrange(1, size)
        t = time.perf_counter()
        c = tree.consistency(db, m, size)
        con_t.append(time.perf_counter() - t)
        old_root = tree.root(db, m)
        t = time.perf_counter()
        verify_consistency(m, size, old_root, root, c)
        con_v.append(time.perf_counter() - t)
        con_len.append(len(c))
    nodes = int(db.execute("SELECT count(*) FROM tree_nodes").fetchone()[0])
    db.close()
    file_mb = (folder / f"tree-{size}.sqlite3").stat().st_size / 1e6
    us = 1e6
    return {
        "size": size, "build_s": round(build_s, 1), "nodes": nodes, "file_mb": round(file_mb, 1),
        "inclusion_hashes_max": max(inc_len), "inclusion_bytes_max": 32 * max(inc_len),
        "inclusion_p50_us": round(statistics.median(inc_t) * us, 1), "inclusion_p90_us": round(pct(inc_t, .9) * us, 1),
        "inclusion_p99_us": round(pct(inc_t, .99) * us, 1),
        "inclusion_verify_p50_us": round(statistics.median(inc_v) * us, 1),
        "consistency_hashes_max": max(con_len), "consistency_bytes_max": 32 * max(con_len),
        "consistency_p50_us": round(statistics.median(con_t) * us, 1),
        "consistency_p90_us": round(pct(con_t, .9) * us, 1), "consistency_p99_us": round(pct(con_t, .99) * us, 1),
        "consistency_verify_p50_us": round(statistics.median(con_v) * us, 1),
    }


def pg_proofs(size: int, n_proofs: int, folder: Path, seed: int, admin_url: str) -> dict[str, Any]:
    """The same proofs on a PostgreSQL store: events and kept nodes loaded with COPY
    (the store's tables, made by its migrations), proofs read with the store's own
    code (a read-only transaction, one query of the tree and one of the events)."""
    import psycopg

    from deconflict.store.merkle import Frontier, kept
    from deconflict.store.postgres import PostgresStore

    name = f"dcf_i12_merkle_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        st = PostgresStore(url, keys=folder / "pg.keys")
        t0 = time.perf_counter()
        front = Frontier()
        with psycopg.connect(url) as db, db.cursor() as cur:
            chunk = 100_000
            for start in range(0, size, chunk):
                hashes = [event_hash(i) for i in range(start, min(size, start + chunk))]
                with cur.copy("COPY events (seq, recorded_at, type, actor, subject, payload, prev_hash, hash) "
                              "FROM STDIN") as copy:
                    for k, h in enumerate(hashes):
                        copy.write_row((start + k + 1, "2026-12-04T00:00:00.000000Z", "note.added", "admin", "",
                                        "{}", "0" * 64, h))
                with cur.copy("COPY tree_nodes (id, hash) FROM STDIN") as copy:
                    for h in hashes:
                        for (level, index), x in front.add(tree.event_leaf(h)):
                            if kept((level, index)):
                                copy.write_row((tree.node_id(level, index), x.hex()))
            db.commit()
        build_s = time.perf_counter() - t0
        root = front.root()
        rng = random.Random(seed)
        inc_t, con_t = [], []
        for _ in range(n_proofs):
            i = rng.randrange(size)
            t = time.perf_counter()
            p = st.inclusion_proof(i + 1, size)
            inc_t.append(time.perf_counter() - t)
            verify_inclusion(i, size, tree.event_leaf(event_hash(i)), p, root)
            m = rng.randrange(1, size)
            t = time.perf_counter()
            st.consistency_proof(m, size)
            con_t.append(time.perf_counter() - t)
        st.close()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    us = 1e6
    return {"store": "postgresql", "size": size, "build_s": round(build_s, 1),
            "inclusion_p50_us": round(statistics.median(inc_t) * us, 1),
            "inclusion_p90_us": round(pct(inc_t, .9) * us, 1), "inclusion_p99_us": round(pct(inc_t, .99) * us, 1),
            "consistency_p50_us": round(statistics.median(con_t) * us, 1),
            "consistency_p90_us": round(pct(con_t, .9) * us, 1),
            "consistency_p99_us": round(pct(con_t, .99) * us, 1)}


def bundle(events: int, folder: Path) -> dict[str, Any]:
    path = folder / "bundle-src.sqlite3"
    t0 = time.perf_counter()
    with SQLiteStore(path) as st:
        batch = 1000
        for start in range(0, events, batch):
            st.append([EventDraft("note.added", "admin", "", {"text": f"event {i}", "n": i})
                       for i in range(start, min(events, start + batch))])
        build_s = time.perf_counter() - t0
        out = folder / "bundle.sqlite3"
        t = time.perf_counter()
        write_bundle(st, out)
        write_s = time.perf_counter() - t
        keys = st.verifiers()
        t = time.perf_counter()
        st.receipt(events // 2)
        receipt_ms = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    report = verify_bundle(out, keys)
    verify_s = time.perf_counter() - t
    assert report.log.events == events
    return {"events": events, "append_s": round(build_s, 1), "bundle_mb": round(out.stat().st_size / 1e6, 1),
            "write_s": round(write_s, 1), "verify_s": round(verify_s, 1),
            "verify_events_per_s": round(events / verify_s), "receipt_ms": round(receipt_ms, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000])
    ap.add_argument("--proofs", type=int, default=2000)
    ap.add_argument("--bundle-events", type=int, default=1_000_000, help="0: skip the bundle run")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--postgres", metavar="ADMIN_URL", default="",
                    help="also time proofs on a PostgreSQL store at each size (a database made and dropped here)")
    ap.add_argument("--only-postgres", action="store_true", help="with --postgres: skip the SQLite proofs")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                       "load_start": os.getloadavg()}, "proofs": [], "bundle": None}
    with tempfile.TemporaryDirectory(prefix="deconflict-merkle-") as d:
        folder = Path(d)
        for size in args.sizes:
            if not (args.only_postgres and args.postgres):
                r = proofs(size, args.proofs, folder, args.seed)
                print(json.dumps(r), flush=True)
                out["proofs"].append(r)
                (folder / f"tree-{size}.sqlite3").unlink()
            if args.postgres:
                r = pg_proofs(size, args.proofs, folder, args.seed, args.postgres)
                print(json.dumps(r), flush=True)
                out["proofs"].append(r)
        if args.bundle_events:
            r = bundle(args.bundle_events, folder)
            print(json.dumps(r), flush=True)
            out["bundle"] = r
    out["machine"]["load_end"] = os.getloadavg()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
