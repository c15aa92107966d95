"""How long writing a start-up snapshot holds the hotline's lock, and whether it
holds the store's writer lock at all (another process's submit, timed while
the snapshot is being written).

Usage: python bench/snapshot_lock.py STORE [--cold]

STORE is an SQLite store (``bench/store_startup.py --sqlite`` leaves one of N
sites). The process starts as ``serve`` does (from the snapshot, or cold with
``--cold``), then writes a snapshot as ``service/startup.py refresh`` does,
timing the hotline's lock (held for the copy) and the whole write; while the
write is under way, a second process-like service on the same store submits
one site, timed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deconflict.service import startup
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.documents import decode_declaration
from deconflict.store.sqlite import SQLiteStore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", type=Path)
    ap.add_argument("--cold", action="store_true")
    args = ap.parse_args()
    service = Deconflict(SQLiteStore(args.store), use_snapshot=not args.cold)
    hotline = Hotline(service)
    other = Deconflict(SQLiteStore(args.store))
    held: dict[str, float] = {}

    @contextlib.contextmanager
    def timed_lock() -> Iterator[None]:
        t = time.perf_counter()
        with hotline._lock:
            yield
        held["hotline_lock_s"] = time.perf_counter() - t

    site = decode_declaration({
        "kind": "site", "id": f"lock-probe-{time.time_ns()}", "owner": "p1", "category": "forces",
        "protection_m": 10, "geometry": {"type": "Point", "coordinates": [10.0, 10.0]},
        "window": {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}}, "d")

    def submit_elsewhere() -> None:
        def run() -> None:
            t = time.perf_counter()
            other.apply([Change(declaration=site)])
            held["other_submit_s"] = time.perf_counter() - t
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()

    t0 = time.perf_counter()
    seq = service.write_snapshot(lambda: {startup.SECTION: startup.section(hotline)}, lock=timed_lock(),
                                 during=submit_elsewhere)
    out: dict[str, Any] = {"declarations": len(service.engine), "cold": args.cold, "seq": seq,
                           "write_s": round(time.perf_counter() - t0, 3), **{k: round(v, 4) for k, v in held.items()},
                           "load": Path("/proc/loadavg").read_text().split()[:3]}
    print(json.dumps(out))
    other.close()
    service.close()


if __name__ == "__main__":
    main()
