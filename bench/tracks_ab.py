"""bench/tracks_same.py under several trees, alternating, several rounds: reports per
CPU second (medians) and whether every tree decides every pair the same (one hash).

    mkdir -p /tmp/base && git archive <commit> src | tar -x -C /tmp/base
    python bench/tracks_ab.py --rounds 5 /tmp/base/src src

Each round runs each tree once, in order, as its own process (each prints the median
of ``--passes`` passes over the same 200k reports, witnesses warm); the machine is
shared, so read the ratios of the medians.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("srcs", nargs="+", help="each tree's src/ directory (the first is the reference)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--passes", type=int, default=3)
    a = ap.parse_args()
    rates: dict[str, list[int]] = {s: [] for s in a.srcs}
    hashes: set[str] = set()
    for k in range(a.rounds):
        for src in a.srcs:
            env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
            out = subprocess.run([sys.executable, str(HERE / "tracks_same.py"), "--passes", str(a.passes)],
                                 env=env, capture_output=True, text=True, check=True).stdout
            got = json.loads(out.strip().splitlines()[-1])
            rates[src].append(got["per_cpu_s"])
            hashes.update([got["fresh"][1], got["again"][1]])
            print(f"round {k + 1} {src}: {got['per_cpu_s']:,} per CPU second, hits {got['fresh'][0]}, "
                  f"hash {got['fresh'][1]}/{got['again'][1]}, load {got['load'][0]:.1f}", flush=True)
    ref = statistics.median(rates[a.srcs[0]])
    for src in a.srcs:
        m = statistics.median(rates[src])
        print(f"{src}: median {m:,.0f} reports per CPU second ({m / ref:.2f}x the first); "
              f"{', '.join(f'{x:,}' for x in rates[src])}")
    print("same decisions in every tree:", len(hashes) == 1, sorted(hashes))


if __name__ == "__main__":
    main()
