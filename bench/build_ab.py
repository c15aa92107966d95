"""Build rate A/B: ``Engine.load`` from model objects, this tree against another.

    git archive 4c62964 src | tar -x -C /tmp/base10
    python bench/build_ab.py --baseline-src /tmp/base10/src --size 1000000 --rounds 3

What ``bench/engine.py`` calls "build" (its bulk rate): a fresh engine with the
theatre's parties and measures loads ``bench/synth.py``'s declarations
(already in memory as model objects) with ``Engine.load``, index rebuilt.
Each round runs one child process per tree (``PYTHONPATH`` set to its
``src``), the order alternating between rounds (A B, B A, ...); a child
generates the theatre, then builds ``--builds`` times and reports its median.
The figure per tree is the median over rounds; the ratio is A's time over B's.
Wall time and CPU time (``time.process_time``) are both reported: on a shared
machine the wall time moves with the other processes' load by 2-3x, the CPU
time far less.
Each child also reports its parts and index entries, which must agree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

CHILD = """
import gc, json, sys, time
sys.path.insert(0, {bench!r})
from synth import PARTIES, Theatre, measures
from deconflict.engine.checker import Engine
decls = Theatre({seed}).declarations({size})
ms = measures()
times, cpu = [], []
for _ in range({builds}):
    e = Engine()
    for p in PARTIES:
        e.add_party(p)
    for m in ms:
        e.add_measure(m)
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    e.load(decls)
    times.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
    parts, entries = e._index.parts_total, len(e._index.entries()[0])
    del e
with open("/proc/loadavg") as f:
    load = f.read().split()[0]
print(json.dumps({{"times": times, "cpu": cpu, "parts": parts, "entries": entries, "load": load}}))
"""


def child(src: Path, args: argparse.Namespace) -> dict[str, object]:
    code = CHILD.format(bench=str(HERE), seed=args.seed, size=args.size, builds=args.builds)
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-src", type=Path, required=True)
    ap.add_argument("--src", type=Path, default=SRC, help="the tree measured as B (default: this one)")
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--builds", type=int, default=2, help="builds per child (its median counts)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sides = {"A": args.baseline_src, "B": args.src}
    medians: dict[str, list[float]] = {"A": [], "B": []}
    cpus: dict[str, list[float]] = {"A": [], "B": []}
    shape: dict[str, tuple[object, object]] = {}
    for r in range(args.rounds):
        for side in ("A", "B") if r % 2 == 0 else ("B", "A"):
            got = child(sides[side], args)
            times = got["times"]
            assert isinstance(times, list)
            cpu = got["cpu"]
            assert isinstance(cpu, list)
            medians[side].append(statistics.median(times))
            cpus[side].append(statistics.median(cpu))
            shape[side] = (got["parts"], got["entries"])
            print(f"round {r + 1} {side}: builds {', '.join(f'{t:.2f}' for t in times)} s wall, "
                  f"{', '.join(f'{t:.2f}' for t in cpu)} s CPU "
                  f"(load {got['load']})", file=sys.stderr, flush=True)
    if shape["A"] != shape["B"]:
        print(f"parts/entries differ: A {shape['A']}, B {shape['B']}", file=sys.stderr)
        sys.exit(1)
    for what, got in (("wall", medians), ("CPU", cpus)):
        a, b = statistics.median(got["A"]), statistics.median(got["B"])
        print(f"{args.size:,} declarations ({shape['B'][0]:,} parts), {what}: A {a:.2f} s = {args.size / a:,.0f}/s, "
              f"B {b:.2f} s = {args.size / b:,.0f}/s, B is {a / b:.2f}x A "
              f"(medians of {args.rounds} rounds x {args.builds} builds)")


if __name__ == "__main__":
    main()
