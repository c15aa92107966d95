"""Another worker's canary while one worker decides large polygons: the comparison
under the store's cross-worker lock (before issue 9's optimistic check) against
the check before the lock and the delta under it (service/optimistic.py).

Two hotlines over one SQLite store are two workers, each in its own process. Worker A
submits a fire on a 4,000-vertex polygon target along which lie ``--sites``
small forces sites of another party, back to back (each refused for its
conflicts, after the full comparison: about 2 s for 300 sites); worker B's
canary submits small sites far away, one after another, and its latency is
measured. "under lock" is the same hotline with
the check before the lock turned off, so every comparison runs under the
store's lock as before. The modes alternate for ``--rounds`` rounds.

Usage: python bench/lock_hold.py [--sites 300] [--canary 60] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from deconflict.model import Party, PartyKind
from deconflict.service.auth import Principal, Role
from deconflict.service.deconflict import Change, Deconflict
from deconflict.service.hotline import Hotline
from deconflict.store.documents import decode_declaration
from deconflict.store.open import open_store

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}


class UnderLock(Hotline):
    """The hotline as before: no check before the store's lock, all of it under it."""

    def _precheck(self) -> None:
        return None


def ring(n: int, lon: float = 40.0, lat: float = 35.6, r: float = 0.05) -> list[list[float]]:
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        rr = r * (1 + 0.05 * math.sin(37 * a))
        pts.append([lon + rr * math.cos(a) / math.cos(math.radians(lat)), lat + rr * math.sin(a)])
    return [*pts, pts[0]]


def doc(ident: str, geometry: dict[str, Any], owner: str, protection: float = 50) -> Any:
    return decode_declaration({"id": ident, "kind": "site", "category": "forces", "protection_m": protection,
                               "geometry": geometry, "window": WINDOW, "owner": owner}, "d")


def who(h: Hotline, party: str) -> Principal:
    return h.authenticate(h.issue_credential(None, party, f"{party}-planner", Role.PLANNER)[1])


def abuse(mode: str, path: Path, stop: Any, decided: Any) -> None:
    """Worker A, in a process of its own (its own interpreter, as a server worker)."""
    a = (UnderLock if mode == "under lock" else Hotline)(Deconflict(open_store(path)))
    pa = who(a, "big")
    big = decode_declaration({"id": "big", "kind": "fire", "owner": "big", "effects_radius_m": 100,
                              "target": {"type": "Polygon", "coordinates": [ring(4000)]}, "window": WINDOW}, "d")
    while not stop.is_set():
        with contextlib.suppress(Exception):  # refused for its conflicts, after the whole comparison
            a.submit(pa, big)
        decided.value += 1
    a.stop_committer()
    a.service.close()


def run(mode: str, path: Path, canary_n: int, first: int) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    stop, decided = ctx.Event(), ctx.Value("i", 0)
    proc = ctx.Process(target=abuse, args=(mode, path, stop, decided))
    proc.start()
    b = Hotline(Deconflict(open_store(path)))  # the canary's worker: its mode does not matter
    pb = who(b, "canary")
    deadline = time.monotonic() + 60
    while decided.value < 1:  # A is deciding polygons back to back
        assert proc.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    lat = []
    for i in range(first, first + canary_n):
        site = doc(f"c{i}", {"type": "Point", "coordinates": [30.0 + (i % 500) * 1e-3, 20.0 + (i // 500) * 1e-3]},
                   "canary")
        t0 = time.perf_counter()
        b.submit(pb, site)
        lat.append((time.perf_counter() - t0) * 1000)
    stop.set()
    proc.join(120)
    b.stop_committer()
    b.service.close()
    print(json.dumps({"mode": mode, "polygons_decided": decided.value}), flush=True)
    return lat


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, math.ceil(q * len(s)) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--canary", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    path = Path(tempfile.mkdtemp(prefix="deconflict-bench-")) / "s.sqlite3"
    service = Deconflict(open_store(path))
    service.apply([Change(party=Party(p, p, PartyKind.ARMED_FORCE)) for p in ("big", "canary", "sites")])
    # Small forces sites along the polygon's edge: every one a conflict of the fire, found by
    # an exact distance to the 4,000-edge ring (about 7 ms each on this machine).
    decls = []
    for k in range(args.sites):
        a = 2 * math.pi * k / args.sites
        rr = 0.05 * (0.9 + 0.2 * (k % 7) / 7)
        decls.append(doc(f"s{k}", {"type": "Point", "coordinates": [40.0 + rr * math.cos(a) / math.cos(
            math.radians(35.6)), 35.6 + rr * math.sin(a)]}, "sites"))
    service.apply([Change(declaration=d) for d in decls], "sites")
    service.close()
    out: dict[str, list[float]] = {"optimistic": [], "under lock": []}
    first = 0
    for r in range(args.rounds):
        for mode in (("optimistic", "under lock") if r % 2 == 0 else ("under lock", "optimistic")):
            out[mode] += run(mode, path, args.canary, first)
            first += args.canary
    summary: dict[str, Any] = {mode: {"canary_p50_ms": round(statistics.median(xs), 1),
                                      "canary_p90_ms": round(pct(xs, 0.9), 1),
                                      "canary_p99_ms": round(pct(xs, 0.99), 1), "n": len(xs)}
                               for mode, xs in out.items()}
    summary["p99_ratio_under_lock_over_optimistic"] = round(
        summary["under lock"]["canary_p99_ms"] / summary["optimistic"]["canary_p99_ms"], 1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
