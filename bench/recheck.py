"""The re-check of accepted activities when a measure comes into force (issue 8).

On the seeded synthetic theatre (bench/synth.py) of N declarations, a no-fire
area (a 30 km square, over a week) and the deconfliction line (the whole four
weeks) come into force. The re-check as the service runs it
(``service/recheck.py``: the candidates near the measure, then the findings of
each about the measure) is timed two ways, alternated side by side, medians of
the rounds: A, ``Engine.check_measure`` (the measure alone) and B,
``Engine.check`` of each candidate filtered to the measure (the whole check).
Both find the same activities (asserted), and so does the brute force over every
declaration in force (at sizes up to ``--brute-max``, asserted, not timed).

Usage: python bench/recheck.py [--sizes 20000,100000] [--rounds 3] [--brute-max 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--brute-max", type=int, default=20000, help="largest size timed by brute force")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from synth import PARTIES, T0, Theatre, measures

    from deconflict.engine.checker import Engine
    from deconflict.engine.recheck import recheck_measure
    from deconflict.model import Declaration, Finding, Measure, MeasureKind, Polygon, Window
    from deconflict.service.notify import NOTIFYING
    from deconflict.service.recheck import candidates, findings_about

    print("| declarations | measure | candidates | with findings | candidates (s) | A: check_measure (s) "
          "| B: check (s) | C: recheck_measure (s) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")

    def whole_check(engine: Engine, decls: list[Declaration], mid: str) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        for d in decls:
            found = [f for f in engine.check(d).findings if f.object_id == mid and f.kind in NOTIFYING]
            if found:
                out[d.id] = found
        return out

    for n in (int(x) for x in args.sizes.split(",")):
        engine = Engine()
        for p in PARTIES:
            engine.add_party(p)
        fixed = measures()
        for m in fixed[1:]:
            engine.add_measure(m)
        engine.load(Theatre(args.seed).declarations(n))
        lon, lat, d = 40.5, 35.5, 0.15
        nfa = Measure("X1", MeasureKind.NO_FIRE_AREA, "p4",
                      Polygon((((lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d), (lon - d, lat + d),
                                (lon - d, lat - d)),)),
                      Window(T0 + timedelta(days=3), T0 + timedelta(days=10)))
        for m in (nfa, fixed[0]):
            engine.add_measure(m)
            cands = candidates(engine, [m])
            a_t: list[float] = []
            b_t: list[float] = []
            c_t: list[float] = []
            k_t: list[float] = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                candidates(engine, [m])
                k_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                c = recheck_measure(engine, m)
                c_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                a = findings_about(engine, cands, m.id)
                a_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                b = whole_check(engine, cands, m.id)
                b_t.append(time.perf_counter() - t)
                assert a.keys() == b.keys()
                assert {k for k, fs in c.items() if any(f.kind in NOTIFYING for f in fs)} == a.keys()
            if n <= args.brute_max:
                assert findings_about(engine, list(engine.declarations()), m.id).keys() == a.keys()
            engine.remove_measure(m.id)
            print(f"| {n:,} | {m.kind.value} {m.id} | {len(cands):,} | {len(a):,} | {statistics.median(k_t):.3f} | "
                  f"{statistics.median(a_t):.3f} | {statistics.median(b_t):.3f} | {statistics.median(c_t):.3f} |",
                  flush=True)

if __name__ == "__main__":
    main()
