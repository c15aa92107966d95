"""The costly request of issue 9, side by side: a fire on a 4,000-vertex polygon
along which lie ``--sites`` forces sites of another party (each a conflict),
checked by the engine with every ring vertex solved per point (before:
``MANY_VERTICES`` out of reach) and with the winding test of geo/winding.py and
chord bounds (now). The two alternate for ``--rounds`` rounds; CPU time per
check, medians; the findings must be the same.

Usage: python bench/winding_ab.py [--sites 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from unittest import mock

sys.path.insert(0, os.path.dirname(__file__))

from lock_hold import WINDOW, doc, ring

from deconflict.engine.checker import Engine
from deconflict.geo import shape as shape_mod
from deconflict.model import Party, PartyKind
from deconflict.store.documents import decode_declaration


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    n = args.sites
    times: dict[str, list[float]] = {"before": [], "now": []}
    answers: dict[str, set[tuple[str, str]]] = {}
    for _round in range(args.rounds):
        for mode in ("before", "now"):
            engine = Engine()
            for p in ("big", "sites"):
                engine.add_party(Party(p, p, PartyKind.ARMED_FORCE))
            for k in range(n):
                a = 2 * math.pi * k / n
                rr = 0.05 * (1 + 0.05 * math.sin(37 * a))
                engine.add_declaration(doc(f"s{k}", {"type": "Point", "coordinates": [
                    40.0 + rr * math.cos(a) / math.cos(math.radians(35.6)), 35.6 + rr * math.sin(a)]}, "sites"))
            fire = decode_declaration({"id": "F", "kind": "fire", "effects_radius_m": 100, "owner": "big",
                                       "target": {"type": "Polygon", "coordinates": [ring(4000)]},
                                       "window": WINDOW}, "a")
            limit = 10**9 if mode == "before" else shape_mod.MANY_VERTICES
            with mock.patch.object(shape_mod, "MANY_VERTICES", limit):
                t0 = time.process_time()
                result = engine.check(fire)
                times[mode].append(time.process_time() - t0)
            answers[mode] = {(f.object_id, f.kind.value) for f in result.findings}
    assert answers["before"] == answers["now"], "the findings differ"
    load = os.getloadavg()[0]
    b, w = statistics.median(times["before"]), statistics.median(times["now"])
    print(f"{n} sites along a 4,000-vertex fire, {args.rounds} rounds, load {load:.1f}: "
          f"before {b:.2f} s CPU, now {w:.3f} s CPU ({b / w:.0f}x); "
          f"{len(answers['now'])} findings, identical")


if __name__ == "__main__":
    main()
