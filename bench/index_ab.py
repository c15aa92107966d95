"""The index alone, this tree's against another tree's, side by side in one process.

    git archive <commit> src/deconflict/engine/index.py | tar -x -C /tmp/base
    python bench/index_ab.py --baseline /tmp/base/src/deconflict/engine/index.py --size 1000000

The engine is loaded with ``bench/synth.py``'s theatre; the baseline index is
filled with the very same entries (boxes, windows, tags). The queries that
``Engine.check`` makes for ``--checks`` activities are recorded, then run on
both indexes in alternating blocks for ``--rounds`` rounds: each query's time
is its median over the rounds; both must return the same parts.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import PARTIES, Theatre, measures  # noqa: E402

from deconflict.engine import index as new_index  # noqa: E402
from deconflict.engine.checker import Engine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, required=True, help="the other tree's engine/index.py")
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--checks", type=int, default=3_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--block", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--caps", type=int, nargs="*", default=[],
                    help="values of _CELL_RANGES_MAX (an index that prunes by time per cell up to that "
                         "many key ranges a level) to measure this tree's index with, in turn")
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("baseline_index", args.baseline)
    assert spec is not None and spec.loader is not None
    old_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old_mod)

    engine = Engine()
    for p in PARTIES:
        engine.add_party(p)
    for m in measures():
        engine.add_measure(m)
    engine.load(Theatre(args.seed).declarations(args.size))
    new = engine.index
    run = new._main  # after load every entry is in the main run
    old: Any = old_mod.GridIndex()
    t0 = np.frombuffer(new._t0, dtype=np.int64)
    t1 = np.frombuffer(new._t1, dtype=np.int64)
    tags = np.frombuffer(new._tag, dtype=np.uint8)
    order = np.argsort(run.part, kind="stable")
    old.add_many(t0, t1, run.part[order].astype(np.int64), run.box[order], tags=tags)

    queries: list[tuple[Any, ...]] = []
    original = new_index.GridIndex.query

    def record(self: Any, *q: Any) -> Any:
        queries.append(q)
        return original(self, *q)

    new_index.GridIndex.query = record  # type: ignore[method-assign]
    for a in Theatre(args.seed + 1).declarations(args.checks, "q"):
        engine.check(a)
    new_index.GridIndex.query = original  # type: ignore[method-assign]

    for cap in args.caps:
        new_index._CELL_RANGES_MAX = cap  # type: ignore[attr-defined]
        print(f"_CELL_RANGES_MAX = {cap}")
        measure(queries, new, old, args)
    if not args.caps:
        measure(queries, new, old, args)


def measure(queries: list[tuple[Any, ...]], new: Any, old: Any, args: argparse.Namespace) -> None:
    times: dict[str, list[list[float]]] = {"this": [[] for _ in queries], "baseline": [[] for _ in queries]}
    sizes = []
    for rnd in range(args.rounds):
        for b0 in range(0, len(queries), args.block):
            block = range(b0, min(b0 + args.block, len(queries)))
            order_ = (("this", new), ("baseline", old))
            for name, idx in order_ if (b0 // args.block + rnd) % 2 == 0 else order_[::-1]:
                for i in block:
                    s = time.perf_counter()
                    got = idx.query(*queries[i])
                    times[name][i].append(time.perf_counter() - s)
                    if rnd == 0 and name == "this":
                        sizes.append(got.size)
                        assert np.array_equal(np.sort(got), np.sort(old.query(*queries[i]))), i
    for name, ts in times.items():
        med = sorted(statistics.median(t) * 1e6 for t in ts)
        print(f"{name:8s} {len(med)} queries: p50 {med[len(med) // 2]:.0f} us, "
              f"p90 {med[int(len(med) * 0.9)]:.0f} us, p99 {med[int(len(med) * 0.99)]:.0f} us, "
              f"mean {statistics.fmean(med):.0f} us")
    print(f"parts returned per query: {statistics.fmean(sizes):.1f}; identical answers on every query")


if __name__ == "__main__":
    main()
