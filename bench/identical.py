"""Identical findings: the engine in this tree against another tree, on one theatre.

    git archive <commit> src | tar -x -C /tmp/base
    python bench/identical.py --baseline-src /tmp/base/src --size 200000 --checks 5000

Each tree runs in its own child process (``PYTHONPATH`` set to its ``src``),
builds ``bench/synth.py``'s theatre and checks the same activities (mixed
kinds, ``Theatre(seed + 1)``), and writes every finding (object, rule, kind,
separation, vertical gap, part, conservative) per check. The findings must be
identical; any difference is printed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

CHILD = """
import json, sys, time
sys.path.insert(0, {bench!r})
from synth import Theatre, loaded_engine
engine = loaded_engine({size}, {seed})
acts = Theatre({seed} + 1).declarations({checks}, "q")
t = time.perf_counter()
out = []
for a in acts:
    out.append(sorted([f.object_id, f.rule, f.kind.value, f.separation_m, f.vertical_gap_m, f.part,
                       f.conservative] for f in engine.check(a).findings))
elapsed = time.perf_counter() - t
json.dump({{"findings": out, "seconds": elapsed}}, open({path!r}, "w"))
"""


def run(src: Path, args: argparse.Namespace, path: str) -> dict[str, object]:
    code = CHILD.format(bench=str(HERE), seed=args.seed, size=args.size, checks=args.checks, path=path)
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return json.loads(Path(path).read_text())  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-src", type=Path, required=True)
    ap.add_argument("--size", type=int, default=200_000)
    ap.add_argument("--checks", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        new = run(SRC, args, f"{tmp}/new.json")
        old = run(args.baseline_src, args, f"{tmp}/old.json")
    a, b = new["findings"], old["findings"]
    assert isinstance(a, list) and isinstance(b, list)
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    total = sum(len(x) for x in a)
    print(f"{len(a)} checks, {total} findings; checks differing: {len(differ)} "
          f"(this tree {new['seconds']:.1f} s, baseline {old['seconds']:.1f} s; "
          f"{time.perf_counter() - t:.0f} s in all)")
    for i in differ[:20]:
        print(f"  check {i}: this tree {a[i]}\n           baseline  {b[i]}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
