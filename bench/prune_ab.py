"""The chord prune of Engine.check, A/B in one process (issue 10).

Builds the synthetic theatre (bench/synth.py) of N declarations once, then checks
the same flights and movements (and fires and sites) with the prune (A,
``CHORD_PRUNE_MIN`` at its default) and without it (B, never taken), alternating
which goes first, and prints the median CPU time per check of each kind
(``time.process_time``: the machine is shared, and CPU time moves less with the
others' load than wall time). Findings are compared too: they must be the same.

Usage: python bench/prune_ab.py [--size 1000000] [--rounds 5] [--per-kind 150]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-kind", type=int, default=150)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from synth import loaded_engine, probes_by_kind

    from deconflict.engine import checker

    engine = loaded_engine(args.size)
    kinds = probes_by_kind(args.per_kind)
    default = checker.CHORD_PRUNE_MIN
    modes = {"A prune": default, "B whole": 10**9}
    first = {name: [engine.check(a).findings for a in acts] for name, acts in kinds.items()}  # warms the cache
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for mode in (list(modes) if r % 2 == 0 else list(reversed(modes))):
            checker.CHORD_PRUNE_MIN = modes[mode]
            for name, acts in kinds.items():
                t = time.process_time()
                got = [engine.check(a).findings for a in acts]
                times.setdefault((name, mode), []).append((time.process_time() - t) / len(acts) * 1e3)
                assert got == first[name], f"{mode} changed the findings of a {name}"
    checker.CHORD_PRUNE_MIN = default
    print(f"| {args.size:,} declarations | " + " | ".join(modes) + " |")
    print("|---|" + "---:|" * len(modes))
    for name in kinds:
        cells = " | ".join(f"{statistics.median(times[(name, m)]):.3f} ms" for m in modes)
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
