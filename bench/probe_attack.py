"""The attacker of docs/threat-model.md: how many dry runs locate a hidden site?

A party (russia) knows only that some other party's site lies somewhere in a
20 x 20 km square; the site is not shared with it. It bisects with fires
whose target is a rectangle (effects 1 m): a redacted conflict or caution
says the site's protected circle reaches the rectangle, nothing else. Four
binary searches (east, west, north and south edges of the protected circle)
give the centre to within ``--precision`` and the protection radius.

Run against the hotline in process (the HTTP layer adds nothing to what a
check reveals). Reports the checks made, those counted against the probe
budget (they touched the hidden site), the error of the estimate, and how long
the default budget makes the attack take.

Usage: python bench/probe_attack.py [--trials 20] [--precision 50]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
from pathlib import Path
from typing import Any

from deconflict.geo.geodesic import distance
from deconflict.model import Party
from deconflict.service.auth import Role
from deconflict.service.deconflict import Deconflict
from deconflict.service.hotline import Hotline
from deconflict.service.probing import DEFAULT_PROBE_LIMIT, DEFAULT_PROBE_WINDOW, Budget
from deconflict.store.documents import decode_declaration
from deconflict.store.sqlite import SQLiteStore

WINDOW = {"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00Z"}
LON0, LAT0 = 40.0, 35.0
SPAN = 0.2  # degrees: about 18 x 22 km


def trial(seed: int, precision_m: float) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        svc = Deconflict(SQLiteStore(Path(tmp) / "a.sqlite3"))
        for p in ("sdf", "russia"):
            svc.add_party(Party(p, p))
        lon, lat = LON0 + rng.uniform(0.03, SPAN - 0.03), LAT0 + rng.uniform(0.03, SPAN - 0.03)
        radius = rng.uniform(300, 2000)
        svc.declare(decode_declaration({
            "kind": "site", "id": "hidden", "owner": "sdf", "category": "forces", "protection_m": radius,
            "share_with": [], "window": {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}, "d"))
        hot = Hotline(svc)
        hot.set_probe_budget(None, "russia", {"limit": 10_000, "window_s": 3600})  # count, never stop
        who = hot.authenticate(hot.issue_credential(None, "russia", "attacker", Role.PLANNER)[1])
        checks = 0

        def hit(w: float, s: float, e: float, n: float) -> bool:
            nonlocal checks
            checks += 1
            doc = {"kind": "fire", "id": f"probe-{checks}", "effects_radius_m": 1, "window": WINDOW,
                   "target": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}
            result = hot.check(who, decode_declaration(doc, "a", owner="russia"))
            return any(f["object"]["owner"] == "sdf" and f["kind"] == "conflict" for f in result["findings"])

        w0, s0, e0, n0 = LON0 - 0.05, LAT0 - 0.05, LON0 + SPAN + 0.05, LAT0 + SPAN + 0.05
        step_lon = precision_m / (111_320 * math.cos(math.radians(LAT0)))
        step_lat = precision_m / 110_570

        def search(pred: Any, lo: float, hi: float, step: float) -> float:
            """The boundary where pred turns from True (at lo) to False (at hi)."""
            while hi - lo > step:
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if pred(mid) else (lo, mid)
            return (lo + hi) / 2

        east = search(lambda x: hit(x, s0, e0, n0), w0, e0, step_lon)  # rect [x, E]: hits while x <= east edge
        west = search(lambda x: not hit(w0, s0, x, n0), w0, e0, step_lon)
        north = search(lambda y: hit(w0, y, e0, n0), s0, n0, step_lat)
        south = search(lambda y: not hit(w0, s0, e0, y), s0, n0, step_lat)
        est_lon, est_lat = (east + west) / 2, (north + south) / 2
        error = distance(est_lon, est_lat, lon, lat)
        counted = hot.probes.used("russia", hot.clock())
        svc.close()
    return {"checks": checks, "counted": counted, "error_m": error, "radius_m": radius}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--precision", type=float, default=50.0, help="metres, per binary search")
    args = ap.parse_args()
    runs = [trial(seed, args.precision) for seed in range(args.trials)]
    default = Budget(DEFAULT_PROBE_LIMIT, DEFAULT_PROBE_WINDOW)
    checks = [r["checks"] for r in runs]
    counted = [r["counted"] for r in runs]
    errors = [r["error_m"] for r in runs]
    windows = [math.ceil(c / default.limit) for c in counted]
    print({"trials": args.trials, "checks_median": statistics.median(checks), "checks_max": max(checks),
           "counted_median": statistics.median(counted), "counted_max": max(counted),
           "error_m_median": round(statistics.median(errors), 1), "error_m_max": round(max(errors), 1),
           "within_100_m": sum(e <= 100 for e in errors),
           "default_budget": f"{default.limit} per {default.window_s:g} s",
           "budget_windows_needed_median": statistics.median(windows)})


if __name__ == "__main__":
    main()
