"""CPU per ``GET /v1/declarations`` page at N declarations, before and after paging
through the engine's columns (engine/listing.py), alternated in one process.

Usage: python bench/listing_page.py STORE [--rounds 3] [--json out.json]
       python bench/listing_page.py --objects 1000000 [--rounds 3]

STORE is an SQLite store with a start-up snapshot (as ``bench/store_startup.py``
leaves it with ``--sqlite``): the process starts from it as ``serve`` does, so
the declarations are encoded until asked for. "before" is what the route did:
every declaration the caller may see (``engine.frozen_declarations()``, decoded
one by one), filtered, then the page (service/listing.py ``page``). "after" is
``Hotline.declarations_page``. Each query is asked by a planner of party ``p1``
and the time is the CPU time of the call (``time.process_time``), medians.

``--objects N`` instead times an engine of N theatre declarations (``bench/synth.py``)
loaded as objects, as after a cold start: "before" filters all of them for the
page, "after" is ``Engine.pager`` (a run sorted by id, built by the first page).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deconflict.service.auth import Principal, Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.disclosure import visible
from deconflict.service.hotline import Hotline
from deconflict.service.listing import Query, page
from deconflict.store.sqlite import SQLiteStore

QUERIES = {
    "first page": Query(limit=1000),
    "page after a cursor": Query(limit=1000, cursor="s500000"),
    "bbox": Query(limit=1000, bbox=(33.0, 12.0, 34.0, 13.0)),
    "owner and window": Query(limit=1000, owners=frozenset({"p1"}),
                              start=datetime(2030, 1, 1, 6, tzinfo=UTC), end=datetime(2030, 1, 1, 7, tzinfo=UTC)),
    "kind with no match": Query(limit=1000, kinds=frozenset({"flight"})),
}


def before(hotline: Hotline, who: Principal, q: Query) -> list[str]:
    now = hotline.read_service(lambda service: service.engine.frozen_declarations())
    found, _ = page((d for d in now if visible(d, who.party)), q)
    return [d.id for d in found]


def after(hotline: Hotline, who: Principal, q: Query) -> list[str]:
    found, _ = hotline.declarations_page(who, q)
    return [d.id for d in found]


def objects(n: int, rounds: int) -> dict[str, Any]:
    from bench.synth import PARTIES, Theatre

    from deconflict.engine import Engine
    from deconflict.service.listing import engine_filter

    decls = Theatre(0).declarations(n)
    engine = Engine()
    for p in PARTIES:
        engine.add_party(p)
    engine.load(decls)
    party = PARTIES[0].id
    queries = {"first page": Query(limit=1000), "kind and owner": Query(limit=1000, kinds=frozenset({"flight"}),
                                                                      owners=frozenset({PARTIES[1].id}))}
    times: dict[str, dict[str, list[float]]] = {}
    c0 = time.process_time()
    engine.pager()(engine_filter(Query(limit=1), lambda o, s: True, lambda d: True))
    first = time.process_time() - c0
    for _ in range(rounds):
        for name, q in queries.items():
            ids = {}
            for side in ("before", "after"):
                c0 = time.process_time()
                if side == "before":
                    found, _ = page((d for d in engine.frozen_declarations() if visible(d, party)), q)
                else:
                    found, _ = engine.pager()(engine_filter(q, lambda o, s: s.allows(party, o),
                                                            lambda d: visible(d, party)))
                times.setdefault(name, {}).setdefault(side, []).append(time.process_time() - c0)
                ids[side] = [d.id for d in found]
            assert ids["before"] == ids["after"], name
            print(name, {k: round(v[-1] * 1000, 2) for k, v in times[name].items()}, "ms; load",
                  *Path("/proc/loadavg").read_text().split()[:3], flush=True)
    return {"declarations": n, "objects": True, "first_run_ms": round(first * 1000, 1),
            "ms": {k: {s: round(statistics.median(v) * 1000, 2) for s, v in t.items()} for k, t in times.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", type=Path, nargs="?")
    ap.add_argument("--objects", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before-queries", default="first page,bbox",
                    help="queries also timed the old way (about 25 s each at 1M)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.objects:
        print(json.dumps(objects(args.objects, args.rounds), indent=1))
        return
    service = Deconflict(SQLiteStore(args.store))
    assert service.snapshot_seq is not None, "the store has no start-up snapshot: run bench/store_startup.py"
    hotline = Hotline(service)
    who = Principal("bench", "p1", "bench", Role.PLANNER)
    olds = set(args.before_queries.split(",")) if args.before_queries else set()
    times: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.rounds):
        for name, q in QUERIES.items():
            results = {}
            for side, fn in (("before", before), ("after", after)):
                if side == "before" and name not in olds:
                    continue
                c0 = time.process_time()
                results[side] = fn(hotline, who, q)
                times.setdefault(name, {}).setdefault(side, []).append(time.process_time() - c0)
            if len(results) == 2:
                assert results["before"] == results["after"], name
            load = Path("/proc/loadavg").read_text().split()[:3]
            print(name, {k: round(v[-1] * 1000, 2) for k, v in times[name].items()}, "ms; load", *load, flush=True)
    out: dict[str, Any] = {"declarations": len(service.engine),
                           "ms": {n: {s: round(statistics.median(v) * 1000, 2) for s, v in t.items()}
                                  for n, t in times.items()}}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
