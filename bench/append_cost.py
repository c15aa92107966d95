"""CPU per append of the store, with the Merkle tree and a signed checkpoint per
append (this tree) against a baseline source tree without them, alternated
side by side in child processes. Also the CPU to make one receipt.

Usage: python bench/append_cost.py --baseline-src /tmp/i12base/src [--appends 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
from deconflict.store.sqlite import SQLiteStore
from deconflict.store.events import EventDraft
n = int(sys.argv[1])
st = SQLiteStore(Path(tempfile.mkdtemp()) / "s.db")
for i in range(50):
    st.append([EventDraft("note.added", "admin", "", {"text": f"warm {i}"})])
t = time.process_time()
for i in range(n):
    st.append([EventDraft("note.added", "admin", "", {"text": f"event {i}"})])
out = {"cpu_ms_per_append": (time.process_time() - t) / n * 1e3}
if hasattr(st, "receipts"):
    t = time.process_time()
    for i in range(n):
        st.receipts([50 + i])
    out["cpu_ms_per_receipt"] = (time.process_time() - t) / n * 1e3
print(json.dumps(out))
"""


def run(src: Path | None, n: int) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    res = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, env=env, check=True)
    return dict(json.loads(res.stdout))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-src", type=Path, required=True)
    ap.add_argument("--appends", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cur: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    for _ in range(args.rounds):
        cur.append(run(None, args.appends))
        base.append(run(args.baseline_src, args.appends))
    c = statistics.median(r["cpu_ms_per_append"] for r in cur)
    b = statistics.median(r["cpu_ms_per_append"] for r in base)
    rc = statistics.median(r["cpu_ms_per_receipt"] for r in cur)
    print(json.dumps({"load": os.getloadavg(), "current_cpu_ms_per_append": round(c, 3),
                      "baseline_cpu_ms_per_append": round(b, 3), "extra_ms": round(c - b, 3),
                      "cpu_ms_per_receipt": round(rc, 3),
                      "rounds": {"current": cur, "baseline": base}}))


if __name__ == "__main__":
    main()
