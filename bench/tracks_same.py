"""The evaluation of bench/tracks.py, hashed: run it under two trees to see that they
decide every pair the same, and at what rate (CPU seconds).

    PYTHONPATH=/tmp/old/src python bench/tracks_same.py --passes 3
    PYTHONPATH=src python bench/tracks_same.py --passes 3

Prints one JSON line: the hits and the hash of every decided pair (report, fence,
NOW/PREDICTED, time to entry) and of the engine's hits, for a fresh Judge and for one that
has already judged the reports once (what it keeps between batches, such as witnesses
and clearances, in use); then the reports per CPU second over ``--passes`` more passes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tracks as bench
from deconflict.tracks.conformance import Fences, Judge
from deconflict.tracks.vector import Batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fences", type=int, default=10_000)
    ap.add_argument("--assets", type=int, default=10_000)
    ap.add_argument("--per-asset", type=int, default=20)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--passes", type=int, default=3)
    a = ap.parse_args()
    rnd = random.Random(1)
    measures, sites = bench.theatre_fences(a.fences, rnd)
    fences = Fences(measures, sites)
    reps = bench.reports_for(a.assets, a.per_asset, rnd)
    batches = [Batch.of(reps[i:i + a.batch]) for i in range(0, len(reps), a.batch)]

    def digest(judge: Judge) -> tuple[int, str]:
        h = hashlib.sha256()
        n = 0
        for bt in batches:
            d, eh = judge.judge_areas(bt)
            o = np.lexsort((d.f, d.r))
            for arr in (d.r[o], d.f[o], d.what[o], np.nan_to_num(d.in_s[o], nan=-1.0)):
                h.update(np.ascontiguousarray(arr).tobytes())
            for x in sorted((e.report, e.object_id, e.in_s) for e in eh):
                h.update(repr(x).encode())
            n += len(d.r) + len(eh)
        return n, h.hexdigest()[:16]

    fresh = digest(Judge(fences))
    judge = Judge(fences)
    digest(judge)
    again = digest(judge)
    cpu = []
    for _ in range(a.passes):
        c = time.process_time()
        for bt in batches:
            judge.judge_areas(bt)
        cpu.append(time.process_time() - c)
    print(json.dumps({"fresh": fresh, "again": again, "cpu_s": cpu,
                      "per_cpu_s": round(len(reps) / statistics.median(cpu)), "load": os.getloadavg()}))


if __name__ == "__main__":
    main()
