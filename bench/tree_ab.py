"""This tree against another (old vs new), alternated processes, CPU time per check (issue 10).

    git archive <commit> src | tar -x -C /tmp/base
    python bench/tree_ab.py --baseline-src /tmp/base/src --size 200000 --pairs 3

Each run is a child process (``PYTHONPATH`` set to its tree's ``src``) that builds
``bench/synth.py``'s theatre, checks the same flights, movements, fires and sites
(``Theatre(2)``, as bench/prune_ab.py) once (the "cold" figure: every
candidate's part built on first use, all kinds mixed), then
``--rounds`` times, and reports the median CPU time per check of each kind
(``time.process_time``) and the checks per CPU second of ``check_many`` over all
of them. Runs alternate (this tree, baseline, baseline, this tree, ...) for
``--pairs`` pairs; the table gives the median over runs. Findings are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

CHILD = """
import json, os, statistics, sys, time
sys.path.insert(0, {bench!r})
from synth import loaded_engine, probes_by_kind
engine = loaded_engine({size})
kinds = probes_by_kind({per_kind})
every = [a for acts in kinds.values() for a in acts]
t = time.process_time()
found = [sorted([f.object_id, f.rule, f.kind.value, f.separation_m, f.part] for f in engine.check(a).findings)
         for a in every]
times = {{"cold": [(time.process_time() - t) / len(every) * 1e3]}}
for r in range({rounds}):
    for name, acts in kinds.items():
        t = time.process_time()
        for a in acts:
            engine.check(a)
        times.setdefault(name, []).append((time.process_time() - t) / len(acts) * 1e3)
    t = time.process_time()
    engine.check_many(every)
    times.setdefault("check_many", []).append(len(every) / (time.process_time() - t))
out = {{k: statistics.median(v) for k, v in times.items()}}
out["load"] = os.getloadavg()[0]
out["findings"] = found
json.dump(out, open({path!r}, "w"))
"""


def run(src: Path, args: argparse.Namespace, path: str) -> dict[str, object]:
    code = CHILD.format(bench=str(HERE), size=args.size, per_kind=args.per_kind, rounds=args.rounds, path=path)
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(src)}, check=True)
    return json.loads(Path(path).read_text())  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-src", type=Path, required=True)
    ap.add_argument("--size", type=int, default=200_000)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--per-kind", type=int, default=150)
    args = ap.parse_args()
    runs: dict[str, list[dict[str, object]]] = {"this tree": [], "baseline": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.pairs):
            order = ["this tree", "baseline"] if i % 2 == 0 else ["baseline", "this tree"]
            for name in order:
                got = run(SRC if name == "this tree" else args.baseline_src, args, f"{tmp}/{name}{i}.json")
                runs[name].append(got)
                print(f"run {i} {name}: load {got['load']:.1f}", flush=True)
    a, b = runs["this tree"][0]["findings"], runs["baseline"][0]["findings"]
    assert a == b, "the trees' findings differ"
    loads = [float(str(r["load"])) for rs in runs.values() for r in rs]
    print(f"| {args.size:,} declarations (load {min(loads):.1f}-{max(loads):.1f}) | this tree | baseline | ratio |")
    print("|---|---:|---:|---:|")
    for key in ("cold", "flight", "movement", "fire", "site", "check_many"):
        new = statistics.median(float(str(r[key])) for r in runs["this tree"])
        old = statistics.median(float(str(r[key])) for r in runs["baseline"])
        unit = {"check_many": "/s", "cold": "ms per check, mixed, parts built on first use"}.get(
            key, "ms per check")
        ratio = new / old if key == "check_many" else old / new
        print(f"| {key} ({unit}) | {new:,.3f} | {old:,.3f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
