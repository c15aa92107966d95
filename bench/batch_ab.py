"""Vectorised exact distances in Engine.check and check_many, A/B in one process (issue 10).

Builds the synthetic theatre (bench/synth.py) of N declarations once, then checks
the same flights, movements, fires and sites with the exact distances on arrays
(A, ``exact.VECTORISE`` True: engine/exact.py, geo/batch.py) and one by one
(B, the scalar ``Shape.distance_within``), alternating which goes first, and
prints the median CPU time per check of each kind (``time.process_time``) and
the checks per CPU second of ``check_many`` over all of them. Findings are
compared: they must be the same in both modes and in check as in check_many.

Usage: python bench/batch_ab.py [--size 1000000] [--rounds 5] [--per-kind 150]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    from deconflict.engine import exact

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-kind", type=int, default=150)
    ap.add_argument("--batch-min", type=int, nargs="+", default=[exact.BATCH_MIN])
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    default_min = exact.BATCH_MIN
    from synth import loaded_engine, probes_by_kind

    t0 = time.perf_counter()
    engine = loaded_engine(args.size)
    print(f"built {args.size:,} in {time.perf_counter() - t0:.1f} s; load {os.getloadavg()[0]:.1f}", flush=True)
    kinds = probes_by_kind(args.per_kind)
    every = [a for acts in kinds.values() for a in acts]
    # (distances on arrays, the least comparisons taken on arrays together)
    modes = {f"A arrays from {n}": (True, n) for n in args.batch_min} | {"B scalar": (False, 0)}
    exact.VECTORISE = False
    first = {name: [engine.check(a).findings for a in acts] for name, acts in kinds.items()}  # warms the cache
    first_all = [f for name in kinds for f in first[name]]
    times: dict[tuple[str, str], list[float]] = {}
    loads: list[float] = []
    for r in range(args.rounds):
        for mode in (list(modes) if r % 2 == 0 else list(reversed(modes))):
            exact.VECTORISE, exact.BATCH_MIN = modes[mode]
            for name, acts in kinds.items():
                t = time.process_time()
                got = [engine.check(a).findings for a in acts]
                times.setdefault((name, mode), []).append((time.process_time() - t) / len(acts) * 1e3)
                assert got == first[name], f"{mode} changed the findings of a {name}"
            t = time.process_time()
            many = engine.check_many(every)
            times.setdefault(("check_many", mode), []).append(len(every) / (time.process_time() - t))
            assert [c.findings for c in many] == first_all, f"{mode} check_many changed the findings"
        loads.append(os.getloadavg()[0])
    exact.VECTORISE, exact.BATCH_MIN = True, default_min
    print(f"| {args.size:,} declarations (load {min(loads):.1f}-{max(loads):.1f}) | " + " | ".join(modes) + " |")
    print("|---|" + "---:|" * len(modes))
    for name in kinds:
        cells = " | ".join(f"{statistics.median(times[(name, m)]):.3f} ms" for m in modes)
        print(f"| {name} per check | {cells} |")
    cells = " | ".join(f"{statistics.median(times[('check_many', m)]):,.0f} /s" for m in modes)
    print(f"| check_many, {len(every)} mixed | {cells} |")


if __name__ == "__main__":
    main()
