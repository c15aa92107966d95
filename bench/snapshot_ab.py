"""Snapshot start-up at 1M, two code trees side by side (issue 10 item 4).

A snapshot is bound to the program that wrote it (store/startup.py ``code``), so
each tree needs its own copy of the store's snapshot; writing one means a cold
start (minutes at 1M). ``resign`` re-signs an existing snapshot's header for the
code on ``PYTHONPATH`` (same body, same seq, hash and frontier, the log's own
key) when the format and the hotline's section did not change between the trees::

    # once: a 1M SQLite store and its snapshot, by the code before (bench/store_startup.py's fill)
    PYTHONPATH=/tmp/before/src python bench/snapshot_ab.py resign SNAPFILE KEYS --sqlite S1 --pg URL1
    PYTHONPATH=src python bench/snapshot_ab.py resign SNAPFILE KEYS --sqlite S2 --pg URL2
    # fresh processes, the two trees alternated (ABBA), medians
    PYTHONPATH=src python bench/snapshot_ab.py ab --rounds 6 --before /tmp/before/src \\
        --sqlite S1,S2 --pg URL1,URL2 --keys KEYS
    # PostgreSQL's read of the snapshot alone (rows -> buffer -> body digest), in one process,
    # or one side per fresh process (--only before|after --rounds 1, alternated by the shell)
    PYTHONPATH=src python bench/snapshot_ab.py read URL2 --rounds 6
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import statistics
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import store_startup

_U32 = struct.Struct("<I")


def resign(args: argparse.Namespace) -> None:
    from deconflict.store import startup
    from deconflict.store.events import canonical_json
    from deconflict.store.keys import KeyRing
    from deconflict.store.note import sign_note

    src = Path(args.snapshot).read_bytes()
    (hlen,) = _U32.unpack_from(src, 12)
    header = json.loads(src[16:16 + hlen])
    (nlen,) = _U32.unpack_from(src, 16 + hlen)
    start = 20 + hlen + nlen
    body = src[start + -start % 8:]
    header["code"] = startup.code_digest()
    raw = canonical_json(header).encode()
    note = sign_note(startup._note_text(raw), KeyRing.load(Path(args.keys)).signer).encode()
    head = startup.MAGIC + _U32.pack(startup.VERSION) + _U32.pack(len(raw)) + raw + _U32.pack(len(note)) + note
    out = head + bytes(-len(head) % 8) + body
    for path in args.sqlite or []:
        Path(path + "-snapshot").write_bytes(out)
    for url in args.pg or []:
        from deconflict.store.postgres import PostgresStore

        store = PostgresStore(url)
        store.drop_startup()
        store.put_startup(out)
        store.close()
    print("re-signed for", header["code"][:12], len(out), "bytes")


def ab(args: argparse.Namespace) -> None:
    trees = {"before": Path(args.before), "after": store_startup.SRC}
    specs: dict[str, dict[str, str]] = {}
    if args.sqlite:
        specs["sqlite"] = dict(zip(("before", "after"), args.sqlite.split(","), strict=True))
    if args.pg:
        specs["postgresql"] = dict(zip(("before", "after"), args.pg.split(","), strict=True))
    keys = {"DECONFLICT_LOG_KEYS": args.keys}
    runs: dict[str, list[dict[str, Any]]] = {}
    for r in range(args.rounds):
        for store, spec in specs.items():
            for side in ("before", "after") if r % 2 == 0 else ("after", "before"):
                out = store_startup.child(trees[side], spec[side], "ready", keys if store == "postgresql" else None)
                if out["snapshot"] is None:
                    raise SystemExit(f"{store}/{side} started cold: its snapshot is not this tree's")
                runs.setdefault(f"{store}/{side}", []).append(out)
                print(store, side, json.dumps(out), store_startup.load_avg(), flush=True)
    n = args.declarations
    for k, v in runs.items():
        med = {f: round(statistics.median(x[f] for x in v), 2) for f in ("ready_s", "cpu_s", "deconflict_s",
                                                                          "hotline_s")}
        print(k, med, "RSS B/decl", round(statistics.median(x["rss_delta"] for x in v) / n),
              "anon B/decl", round(statistics.median(x["anon_delta"] for x in v) / n))


def read(args: argparse.Namespace) -> None:
    from deconflict.store import startup
    from deconflict.store.postgres import PostgresStore

    store = PostgresStore(args.url)

    def before() -> str:  # the code before (cdc81bd): text rows, inflated in turn, the map hashed after
        with store._reader() as db:
            parts = [int(r[0]) for r in store._exec(db, "SELECT part FROM startup_snapshot ORDER BY part")]
            with tempfile.TemporaryFile() as f:
                for p in parts:
                    f.write(zlib.decompress(store._one(db, "SELECT body FROM startup_snapshot WHERE part = %s",
                                                       (p,))[0]))
                f.flush()
                buf = startup.map_file(f)
        assert buf is not None
        start = startup._body_start(bytes(buf[:startup.PEEK_BYTES]))
        assert start is not None
        return hashlib.sha256(buf[start:]).hexdigest()

    def after() -> str:
        buf = store.startup_buffer()
        assert buf is not None
        start = startup._body_start(bytes(buf[:startup.PEEK_BYTES]))
        assert start is not None
        return startup._body_digest(buf, start)

    times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    for r in range(args.rounds):
        for name, fn in (("before", before), ("after", after)) if r % 2 == 0 else (("after", after),
                                                                                    ("before", before)):
            if args.only and name != args.only:
                continue
            gc.collect()
            t, c = time.perf_counter(), time.process_time()
            digest = fn()
            times[name].append((time.perf_counter() - t, time.process_time() - c))
            wall, cpu = times[name][-1]
            print(name, digest[:12], f"{wall:.2f} s wall, {cpu:.2f} s CPU", store_startup.load_avg(), flush=True)
    for name, v in times.items():
        if not v:
            continue
        print(name, "median", round(statistics.median(x[0] for x in v), 2), "s wall,",
              round(statistics.median(x[1] for x in v), 2), "s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(required=True)
    p = sub.add_parser("resign")
    p.add_argument("snapshot")
    p.add_argument("keys")
    p.add_argument("--sqlite", action="append")
    p.add_argument("--pg", action="append")
    p.set_defaults(fn=resign)
    p = sub.add_parser("ab")
    p.add_argument("--before", required=True)
    p.add_argument("--sqlite", help="the before's and the after's store, comma-separated")
    p.add_argument("--pg", help="the before's and the after's database URLs, comma-separated")
    p.add_argument("--keys", required=True, help="the log's key file (DECONFLICT_LOG_KEYS for PostgreSQL)")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--declarations", type=int, default=1_000_000)
    p.set_defaults(fn=ab)
    p = sub.add_parser("read")
    p.add_argument("url")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--only", choices=("before", "after"), help="one side (in a fresh process: no warm allocator)")
    p.set_defaults(fn=read)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
