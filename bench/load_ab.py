"""``Engine.load`` rate, two source trees alternated in fresh processes (CPU time).

Usage: python bench/load_ab.py --before /tmp/base/src [--declarations 100000] [--rounds 3]

Each process generates ``bench/synth.py``'s theatre (seed 0), adds its parties and
measures, and times ``Engine.load`` three times (best reported); the two trees
alternate, ``--rounds`` times, and the medians are printed with the load average.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = r"""
import sys, time
from bench.synth import PARTIES, Theatre, measures
from deconflict.engine import Engine
n = int(sys.argv[1])
decls = Theatre(0).declarations(n)
best = 0.0
for _ in range(3):
    e = Engine()
    for p in PARTIES:
        e.add_party(p)
    for m in measures():
        e.add_measure(m)
    c = time.process_time()
    e.load(decls)
    best = max(best, n / (time.process_time() - c))
print(best)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, required=True, help="the src folder of the code to compare with")
    ap.add_argument("--declarations", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    res: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        for side, src in (("before", args.before), ("after", HERE.parent / "src")):
            done = subprocess.run([sys.executable, "-c", CHILD, str(args.declarations)], capture_output=True,
                                  text=True, check=True, env={"PYTHONPATH": f"{src}:{HERE.parent}"})
            res[side].append(float(done.stdout.strip().splitlines()[-1]))
            print(side, round(res[side][-1]), Path("/proc/loadavg").read_text().split()[:3], flush=True)
    print({k: round(statistics.median(v)) for k, v in res.items()})


if __name__ == "__main__":
    main()
